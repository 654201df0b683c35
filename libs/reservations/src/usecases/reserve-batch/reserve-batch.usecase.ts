import { Injectable } from '@nestjs/common';
import { Clock, FieldError, fieldPath, PlatformError, underField, WebhookEvent } from '@tollgate/platform';
import { BatchPolicy, EnsureScopeLoadedUseCase, HoldSpec, QuotaScope, QuotaStore } from '@tollgate/quota';
import { CallContext } from '@tollgate/tenancy';
import { Reservation, requestHash, reservationIdFor } from '../../domain/reservation';
import { ReservationError } from '../../domain/reservation.error';
import { ReservationRepository } from '../../adapters/mikro-orm/reservation.repository';
import { AdmissionPricing, AdmissionRequest, PricedOption } from '../admission-pricing';
import { presentHeld } from '../reservation-answers';
import { ReservationContext, storeUnavailable } from '../reservation-context';
import { thresholdEvents } from '../reservation-signals';

export interface BatchInput {
  orgId: string;
  projectId: string;
  userId: string;
  policy: BatchPolicy;
  /** A raw amount or an operation to price (a batch holds no downgrades). */
  items: { request: AdmissionRequest; ttlSeconds?: number; metadata?: Record<string, unknown> }[];
}

/**
 * "Generate all": up to 100 holds for one user in one atomic store decision (no other admission
 * interleaves). all_or_nothing holds every item or none; max_fundable holds, in order, the items
 * that fit. The held items are recorded in one transaction before the answer.
 * Retries are answered by the shared idempotency store (a batch is not the single hot call);
 * item ids derive from the key, so even a retry that runs again cannot hold twice.
 */
@Injectable()
export class ReserveBatchUseCase {
  constructor(
    private readonly context: ReservationContext,
    private readonly store: QuotaStore,
    private readonly loader: EnsureScopeLoadedUseCase,
    private readonly reservations: ReservationRepository,
    private readonly clock: Clock,
    private readonly pricing: AdmissionPricing,
  ) {}

  async execute(ctx: CallContext, idempotencyKey: string, input: BatchInput, canonicalBody: string): Promise<Record<string, unknown>> {
    const now = this.clock.now();
    const { scope, expiries, thresholds } = await this.context.admissible(
      ctx,
      input.orgId,
      input.projectId,
      input.userId,
      input.items.map((item, i) => ({ field: fieldPath('items', i, 'ttl_seconds'), seconds: item.ttlSeconds })),
      now,
    );
    const batchId = reservationIdFor(scope.orgId, scope.environment, idempotencyKey).replace(/^res_/, 'bat_');
    const priced: PricedOption[] = [];
    for (const [i, item] of input.items.entries()) priced.push((await this.priceItem(scope, item.request, now, i)).requested);
    const holds: HoldSpec[] = input.items.map((_, i) => ({
      holdId: reservationIdFor(scope.orgId, scope.environment, `${idempotencyKey}#${i}`),
      projectId: input.projectId,
      userId: input.userId,
      amount: priced[i].amount,
      expiresAtMs: expiries[i].getTime(),
    }));
    const outcome = await this.loader.run(scope, () => this.store.reserveBatch(scope, holds, input.policy, now, thresholds));
    if (outcome.kind === 'refused') {
      throw new ReservationError(
        'insufficient_budget',
        `Not enough budget at the ${outcome.level} level for item ${outcome.index}: nothing was held.`,
        {
          level: outcome.level,
          required: outcome.required,
          available: outcome.available,
          index: outcome.index,
        },
      );
    }
    if (outcome.kind === 'duplicate') {
      throw new ReservationError(
        'insufficient_budget',
        'This batch is already held; retry with the same Idempotency-Key and body to see it.',
      );
    }

    const hash = requestHash(idempotencyKey, canonicalBody);
    const held: Reservation[] = [];
    const items = outcome.items.map((item, index) => {
      if (item.kind === 'refused') {
        return {
          index,
          decision: 'refused',
          error: { code: 'insufficient_budget', level: item.level, required: item.required, available: item.available },
        };
      }
      const periods = item.kind === 'held' ? item.periods : item.hold.periods;
      const remaining = item.kind === 'held' ? item.remaining : { org: null, project: null, user: null };
      const spec = {
        projectId: input.projectId,
        userId: input.userId,
        amount: priced[index].amount,
        metadata: input.items[index].metadata,
        pricing: priced[index].pricing,
      };
      const reservation: Reservation = {
        id: holds[index].holdId,
        orgId: scope.orgId,
        environment: scope.environment,
        projectId: input.projectId,
        userId: input.userId,
        amount: spec.amount,
        idempotencyKey: `${idempotencyKey}#${index}`,
        requestHash: hash,
        periods,
        expiresAt: expiries[index],
        metadata: spec.metadata ?? null,
        response: presentHeld(holds[index].holdId, scope.orgId, spec, expiries[index], remaining, now),
        pricing: spec.pricing,
        createdBy: ctx.principal.actor,
        createdAt: now,
      };
      if (item.kind === 'held') held.push(reservation);
      return { index, decision: 'admitted', reservation: reservation.response };
    });
    if (held.length === 0) {
      const first = items[0] as { error: { level: string; required: number; available: number } };
      throw new ReservationError(
        'insufficient_budget',
        `Not enough budget at the ${first.error.level} level: no item was held.`,
        first.error,
      );
    }
    await this.record(scope, held, thresholdEvents(scope, outcome.crossings, now));
    const heldCount = items.filter((i) => i.decision === 'admitted').length;
    return { batch_id: batchId, policy: input.policy, held: heldCount, refused: items.length - heldCount, items };
  }

  /** An item's bad usage is named where the client wrote it: `items[2].usage.video_seconds`, not `usage.video_seconds`. */
  private async priceItem(scope: QuotaScope, request: AdmissionRequest, now: Date, index: number) {
    try {
      return await this.pricing.price(scope, request, now);
    } catch (error) {
      if (error instanceof PlatformError && error.code === 'validation_failed') {
        throw PlatformError.validation(underField(fieldPath('items', index), (error.extensions.errors as FieldError[] | undefined) ?? []));
      }
      throw error;
    }
  }

  /** All held items in one transaction; if that fails, every hold is undone. */
  private async record(scope: QuotaScope, held: Reservation[], signals: WebhookEvent[]): Promise<void> {
    let results;
    try {
      results = await this.reservations.insertHeldMany(held, signals);
    } catch {
      // Undo in the store: unload makes it rebuild from Postgres, where none of these exist.
      await this.store.unload(scope).catch(() => undefined);
      throw storeUnavailable();
    }
    // A re-run of a batch whose items already ended: the store held those anew; give them back.
    const stale = held.filter((_, i) => results[i] === 'conflict');
    for (const reservation of stale) await this.store.release(scope, reservation.id).catch(() => this.store.unload(scope));
  }
}
