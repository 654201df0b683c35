import { CreditGrant } from './hierarchy';

export interface PoolInput {
  grants: Pick<CreditGrant, 'id' | 'amount' | 'createdAt' | 'expiresAt'>[];
  /** All-time committed spend of the organization at each instant asked for (see poolInstants). */
  consumedAt: (instant: Date) => number;
  overdraft: number;
  now: Date;
}

/** The instants at which consumption must be known: each grant's creation and past expiry, and now. */
export function poolInstants(grants: PoolInput['grants'], now: Date): Date[] {
  const ms = new Set<number>([now.getTime()]);
  for (const g of grants) {
    ms.add(g.createdAt.getTime());
    if (g.expiresAt && g.expiresAt.getTime() <= now.getTime()) ms.add(g.expiresAt.getTime());
  }
  return [...ms].sort((a, b) => a - b).map((m) => new Date(m));
}

/**
 * The organization node's limit: committed-so-far plus what is left of every grant that still
 * counts, plus the overdraft, minus any debt. Spend is drawn from grants soonest-expiring first
 * (those without expiry last); what a grant has left when it expires is forfeited; spend no
 * grant covered is debt, which the next grant pays first. Between two grant events no grant
 * appears or disappears, so drawing each interval's spend at once is exact.
 * The store checks `committed + reserved ≤ limit`, so the limit stays put as spend is drawn.
 */
export function creditPoolLimit(input: PoolInput): number {
  const now = input.now.getTime();
  type Event = { at: number; order: number; apply: () => void };
  const remaining = new Map<string, { left: bigint; expires: number; created: number }>();
  let debt = 0n;
  const events: Event[] = [];
  for (const g of input.grants) {
    const created = g.createdAt.getTime();
    if (created > now) continue;
    const expires = g.expiresAt ? g.expiresAt.getTime() : Number.POSITIVE_INFINITY;
    events.push({
      at: created,
      order: 0,
      apply: () => {
        const paid = debt < BigInt(g.amount) ? debt : BigInt(g.amount);
        debt -= paid;
        remaining.set(g.id, { left: BigInt(g.amount) - paid, expires, created });
      },
    });
    if (expires <= now) events.push({ at: expires, order: 1, apply: () => void remaining.delete(g.id) });
  }
  events.sort((a, b) => a.at - b.at || a.order - b.order);

  const draw = (amount: bigint) => {
    const order = [...remaining.values()].sort((a, b) => a.expires - b.expires || a.created - b.created);
    for (const grant of order) {
      if (amount === 0n) break;
      const take = grant.left < amount ? grant.left : amount;
      grant.left -= take;
      amount -= take;
    }
    debt += amount;
  };

  let drawn = 0n;
  const drawUntil = (instant: number) => {
    const consumed = BigInt(input.consumedAt(new Date(instant)));
    if (consumed > drawn) draw(consumed - drawn);
    drawn = consumed > drawn ? consumed : drawn;
  };
  for (const event of events) {
    // Spend up to an expiry is drawn before the grant goes; a grant created at t pays spend after t.
    drawUntil(event.at);
    event.apply();
  }
  drawUntil(now);
  let left = 0n;
  for (const grant of remaining.values()) left += grant.left;
  const limit = drawn + left + BigInt(input.overdraft) - debt;
  const max = BigInt(Number.MAX_SAFE_INTEGER);
  return Number(limit < 0n ? 0n : limit > max ? max : limit);
}
