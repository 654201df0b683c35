import { createHash } from 'node:crypto';
import { Decimal } from 'decimal.js';
import { Environment } from './reservation';

/**
 * A normalized usage event: one charged line of a commit, the contract between Tollgate and
 * every billing backend (docs/usage-events.md maps it onto Flexprice and Metronome events).
 * A priced commit has one per dimension it charged (a graduated rate's tier lines are summed
 * into their dimension's event), a raw amount one. Amounts are integer micro-credits and sum,
 * over a commit's events, to exactly what its ledger row charged.
 */
export interface UsageEvent {
  id: string;
  kind: 'usage' | 'correction';
  reservationId: string;
  /** The line's position in the commit (0-based): events of a commit in order. */
  line: number;
  orgId: string;
  environment: Environment;
  projectId: string;
  userId: string;
  /** Null for a raw amount. */
  product: string | null;
  /** The priced dimension (video_seconds); null for a raw amount. */
  dimension: string | null;
  /** The match values the line was priced with (resolution: 1080p). */
  dimensions: Record<string, string>;
  /** Exact decimal, plain notation: the units used ('1' for a raw amount). */
  quantity: string;
  /** Micro-credits charged on this line, after the overage policy. */
  amount: number;
  /** What the hold estimated for this line, what the actual usage priced at, and actual − estimate. */
  estimate: number;
  actual: number;
  variance: number;
  rateCardId: string | null;
  /** The rate (its version: rates are append-only) that priced the line. */
  rateId: string | null;
  provider: string | null;
  providerRequestId: string | null;
  occurredAt: Date;
}

/** The line of a raw-amount commit, in the event id. */
const RAW_LINE = 'amount';

/**
 * `evt_` + base64url(sha256(reservation id, line)), 32 characters after the prefix (192 bits).
 * The line is the dimension's name (or `amount` for a raw amount), not its position, so the id
 * does not depend on the order a rate card lists its rates. A reservation commits once, so a
 * retried commit, another instance or a rebuilt store can only derive the same ids.
 */
export function usageEventId(reservationId: string, line: string | null): string {
  return (
    'evt_' +
    createHash('sha256')
      .update(`${reservationId}\n${line ?? RAW_LINE}`)
      .digest('base64url')
      .slice(0, 32)
  );
}

/** The commit's usage-ledger id, derived the same way (one ledger row per reservation). */
export function ledgerEntryId(reservationId: string): string {
  return 'use_' + createHash('sha256').update(`${reservationId}\nledger`).digest('base64url').slice(0, 32);
}

/** A priced line as the pricing engine answers it (rate-cards' PriceLine), as far as events need it. */
export interface ChargedLine {
  dimension: string;
  amount: number;
}

export interface CommitForEvents {
  reservationId: string;
  orgId: string;
  environment: Environment;
  projectId: string;
  userId: string;
  /** Micro-credits the store charged (the overage policy applied): what the events sum to. */
  charged: number;
  /** The hold's amount. */
  estimate: number;
  provider: { name: string; requestId: string | null } | null;
  occurredAt: Date;
  priced: {
    product: string;
    dimensions: Record<string, string>;
    usage: Record<string, number | string>;
    rateCardId: string;
    /** The actual usage's lines, and the hold's estimated lines. */
    lines: readonly ChargedLine[];
    estimateLines: readonly ChargedLine[];
    /** The rate id of each dimension. */
    rateIds: Record<string, string>;
  } | null;
}

/** The commit's events, in line order; amounts sum exactly to `charged`. */
export function usageEventsOf(commit: CommitForEvents): UsageEvent[] {
  const common = {
    kind: 'usage' as const,
    reservationId: commit.reservationId,
    orgId: commit.orgId,
    environment: commit.environment,
    projectId: commit.projectId,
    userId: commit.userId,
    provider: commit.provider?.name ?? null,
    providerRequestId: commit.provider?.requestId ?? null,
    occurredAt: commit.occurredAt,
  };
  const priced = commit.priced;
  if (!priced || priced.lines.length === 0) {
    // A raw amount (or usage that priced no line): one event for what was charged.
    return [
      {
        ...common,
        id: usageEventId(commit.reservationId, null),
        line: 0,
        product: priced?.product ?? null,
        dimension: null,
        dimensions: priced?.dimensions ?? {},
        quantity: '1',
        amount: commit.charged,
        estimate: commit.estimate,
        actual: commit.charged,
        variance: commit.charged - commit.estimate,
        rateCardId: priced?.rateCardId ?? null,
        rateId: null,
      },
    ];
  }
  const actual = sumByDimension(priced.lines);
  const estimated = sumByDimension(priced.estimateLines);
  const amounts = allocate([...actual.values()], commit.charged);
  return [...actual.entries()].map(([dimension, amount], line) => {
    const estimate = estimated.get(dimension) ?? 0;
    return {
      ...common,
      id: usageEventId(commit.reservationId, dimension),
      line,
      product: priced.product,
      dimension,
      dimensions: priced.dimensions,
      quantity: plainQuantity(priced.usage[dimension]),
      amount: amounts[line],
      estimate,
      actual: amount,
      variance: amount - estimate,
      rateCardId: priced.rateCardId,
      rateId: priced.rateIds[dimension] ?? null,
    };
  });
}

function sumByDimension(lines: readonly ChargedLine[]): Map<string, number> {
  const sums = new Map<string, number>();
  for (const { dimension, amount } of lines) sums.set(dimension, (sums.get(dimension) ?? 0) + amount);
  return sums;
}

/**
 * Splits `total` over the lines in proportion to their priced amounts (largest remainder, in
 * integers): when the overage policy charged less than the lines priced, each line bears its
 * share and the events still sum to exactly the ledger's amount. Equal to the priced amounts
 * when nothing was capped.
 */
export function allocate(priced: readonly number[], total: number): number[] {
  const sum = priced.reduce((a, b) => a + b, 0);
  if (sum === total) return [...priced];
  if (sum === 0) return priced.map((_, i) => (i === 0 ? total : 0));
  const bigTotal = BigInt(total);
  const bigSum = BigInt(sum);
  const shares = priced.map((p) => (BigInt(p) * bigTotal) / bigSum);
  const remainders = priced.map((p, i) => ({ i, r: BigInt(p) * bigTotal - shares[i] * bigSum }));
  let left = bigTotal - shares.reduce((a, b) => a + b, 0n);
  remainders.sort((a, b) => (a.r === b.r ? a.i - b.i : a.r > b.r ? -1 : 1));
  for (const { i } of remainders) {
    if (left === 0n) break;
    shares[i] += 1n;
    left -= 1n;
  }
  return shares.map(Number);
}

function plainQuantity(value: number | string | undefined): string {
  if (value === undefined) return '0';
  return new Decimal(value).toFixed();
}
