import { createHash } from 'node:crypto';
import { Decimal } from 'decimal.js';
import { allocate, ChargedLine, usageEventId, UsageEvent } from './usage-event';
import { Environment } from './reservation';

/**
 * Adjustments: a commit corrected after the fact by its provider's usage report. The total a
 * reservation is charged becomes what the organization's overage policy charges for the
 * provider's usage priced at the hold's recorded rates (so `cap_at_hold` never bills above the
 * hold); an adjustment is that total minus what its commit and earlier adjustments charged,
 * one signed ledger row and one correction event per dimension whose amount or quantity moves.
 */

/**
 * The n-th adjustment of a reservation (1-based): ids derived from the reservation and n, so
 * two imports racing on the same state (both seeing n − 1 adjustments) derive the same ids and
 * Postgres keeps one; the reservation's row lock makes the second see the first.
 */
export function adjustmentEntryId(reservationId: string, n: number): string {
  return 'use_' + createHash('sha256').update(`${reservationId}\nadjustment:${n}`).digest('base64url').slice(0, 32);
}

export function correctionEventId(reservationId: string, n: number, dimension: string | null): string {
  return usageEventId(reservationId, `adjustment:${n}:${dimension ?? 'amount'}`);
}

/** What a reservation's events charged so far per dimension (null: a raw or unpriced line). */
export interface ChargedLineSoFar {
  dimension: string | null;
  amount: number;
  /** Exact decimal. */
  quantity: string;
}

/** A dimension's figures as the reservation should now be charged. */
export interface TargetLine {
  dimension: string;
  amount: number;
  quantity: string;
}

/**
 * The target lines: the provider usage's priced lines (tier lines summed per dimension), the
 * charge split over them in proportion (largest remainder, as a commit's events are), so they
 * sum exactly to `charge`.
 */
export function targetLines(priced: readonly ChargedLine[], usage: Record<string, number | string>, charge: number): TargetLine[] {
  const sums = new Map<string, number>();
  for (const { dimension, amount } of priced) sums.set(dimension, (sums.get(dimension) ?? 0) + amount);
  const amounts = allocate([...sums.values()], charge);
  return [...sums.keys()].map((dimension, i) => ({ dimension, amount: amounts[i], quantity: plain(usage[dimension]) }));
}

export interface Correction {
  dimension: string | null;
  amount: number;
  quantity: string;
}

/**
 * What moves per dimension from what was charged to the target: target lines first, in their
 * order, then dimensions charged before that the target no longer has (taken back whole).
 * Amounts sum to target − charged exactly; lines where nothing moves are left out.
 */
export function corrections(target: readonly TargetLine[], charged: readonly ChargedLineSoFar[]): Correction[] {
  const before = new Map(charged.map((c) => [c.dimension, c]));
  const out: Correction[] = [];
  for (const line of target) {
    const was = before.get(line.dimension);
    before.delete(line.dimension);
    const amount = line.amount - (was?.amount ?? 0);
    const quantity = new Decimal(line.quantity).minus(was?.quantity ?? '0');
    if (amount !== 0 || !quantity.isZero()) out.push({ dimension: line.dimension, amount, quantity: quantity.toFixed() });
  }
  for (const was of before.values()) {
    const quantity = new Decimal(was.quantity).negated();
    if (was.amount !== 0 || !quantity.isZero()) out.push({ dimension: was.dimension, amount: -was.amount, quantity: quantity.toFixed() });
  }
  return out;
}

export interface CorrectionContext {
  reservationId: string;
  n: number;
  orgId: string;
  environment: Environment;
  projectId: string;
  userId: string;
  product: string;
  dimensions: Record<string, string>;
  rateCardId: string;
  rateIds: Record<string, string>;
  provider: string;
  providerRequestId: string;
  /**
   * The adjustment's instant, as its ledger row's: a correction is booked when it is made (a
   * vendor takes no event backdated past its window, Metronome 34 days; docs/usage-events.md).
   */
  occurredAt: Date;
}

/**
 * Correction events (kind `correction`), positive or negative. estimate, actual and variance
 * are 0: the variance report reads commits; a correction says only what moved.
 */
export function correctionEvents(context: CorrectionContext, moves: readonly Correction[]): UsageEvent[] {
  return moves.map((move, line) => ({
    id: correctionEventId(context.reservationId, context.n, move.dimension),
    kind: 'correction',
    reservationId: context.reservationId,
    line,
    orgId: context.orgId,
    environment: context.environment,
    projectId: context.projectId,
    userId: context.userId,
    product: context.product,
    dimension: move.dimension,
    dimensions: context.dimensions,
    quantity: move.quantity,
    amount: move.amount,
    estimate: 0,
    actual: 0,
    variance: 0,
    rateCardId: context.rateCardId,
    rateId: move.dimension === null ? null : (context.rateIds[move.dimension] ?? null),
    provider: context.provider,
    providerRequestId: context.providerRequestId,
    occurredAt: context.occurredAt,
  }));
}

function plain(value: number | string | undefined): string {
  return value === undefined ? '0' : new Decimal(value).toFixed();
}
