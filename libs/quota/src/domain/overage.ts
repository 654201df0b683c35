/**
 * What a commit may charge above its hold (the organization's overage policy), decided inside
 * the store's commit so reconcile stays one atomic call.
 */
export type OverageRule = { kind: 'allow' } | { kind: 'cap_at_hold' } | { kind: 'up_to_percent'; percent: number };

/**
 * The usage itself up to the hold; above it what the rule allows. The percentage allowance
 * rounds down (never charge more than allowed). Integer arithmetic; commit.lua mirrors it.
 */
export function chargeFor(usage: number, held: number, rule: OverageRule): number {
  if (usage <= held) return usage;
  switch (rule.kind) {
    case 'allow':
      return usage;
    case 'cap_at_hold':
      return held;
    case 'up_to_percent': {
      const allowance = (BigInt(held) * BigInt(rule.percent)) / 100n;
      const ceiling = BigInt(held) + allowance;
      return ceiling < BigInt(usage) ? Number(ceiling) : usage;
    }
  }
}
