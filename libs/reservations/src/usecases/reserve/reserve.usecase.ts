import { Injectable } from '@nestjs/common';
import { Clock, MetricsService, PlatformError } from '@tollgate/platform';
import { EnsureScopeLoadedUseCase, QuotaStore } from '@tollgate/quota';
import { CallContext } from '@tollgate/tenancy';
import { Counter } from 'prom-client';
import { Reservation, ReservationPricing, requestHash, reservationIdFor } from '../../domain/reservation';
import { AdmissionPricing, AdmissionRequest, PricedOption } from '../admission-pricing';
import { presentHeld, presentOption } from '../reservation-answers';
import { ReservationError } from '../../domain/reservation.error';
import { ReservationRepository } from '../../adapters/mikro-orm/reservation.repository';
import { ReservationContext, storeUnavailable } from '../reservation-context';
import { thresholdEvents } from '../reservation-signals';

export interface ReserveInput {
  orgId: string;
  projectId: string;
  userId: string;
  request: AdmissionRequest;
  ttlSeconds?: number;
  metadata?: Record<string, unknown>;
}

export interface ReserveResult {
  status: number;
  body: Record<string, unknown>;
  replayed: boolean;
}

const DUPLICATE_WAIT_MS = 2_000;

/**
 * The hot path: one store call decides and holds at every level atomically, then one
 * group-committed insert makes the hold durable before the 201. If the insert fails the hold
 * is undone; if Postgres already has this reservation (a retry), its first answer is replayed.
 */
@Injectable()
export class ReserveUseCase {
  private readonly outcomes: Counter<'outcome'>;

  constructor(
    private readonly context: ReservationContext,
    private readonly store: QuotaStore,
    private readonly loader: EnsureScopeLoadedUseCase,
    private readonly reservations: ReservationRepository,
    private readonly clock: Clock,
    private readonly pricing: AdmissionPricing,
    metrics: MetricsService,
  ) {
    this.outcomes = new Counter({
      name: 'tollgate_reservations_total',
      help: 'Reserve decisions by outcome',
      labelNames: ['outcome'] as const,
      registers: [metrics.registry],
    });
  }

  async execute(ctx: CallContext, idempotencyKey: string, input: ReserveInput, canonicalBody: string): Promise<ReserveResult> {
    const now = this.clock.now();
    const { scope, expiries, thresholds } = await this.context.admissible(
      ctx,
      input.orgId,
      input.projectId,
      input.userId,
      [{ field: 'ttl_seconds', seconds: input.ttlSeconds }],
      now,
    );
    const expiresAt = expiries[0];
    const id = reservationIdFor(scope.orgId, scope.environment, idempotencyKey);
    const hash = requestHash(idempotencyKey, canonicalBody);
    const { request } = input;
    const priced = await this.pricing.price(scope, request, now);
    // The ladder's alternatives are priced before the decision only when they may be held; a
    // 402 lists those that fit after it (the store says how much would fit).
    const alternatives = request.kind === 'operation' && request.allowDowngrade && priced.hasLadder ? await priced.alternatives() : [];
    const hold = {
      holdId: id,
      projectId: input.projectId,
      userId: input.userId,
      amount: priced.requested.amount,
      expiresAtMs: expiresAt.getTime(),
      ...(priced.hasLadder ? { alternatives: alternatives.map((a) => a.amount) } : {}),
    };
    const outcome = await this.loader.run(scope, () => this.store.reserve(scope, hold, now, thresholds));

    if (outcome.kind === 'refused') {
      // A retry of a reservation that already ended is decided anew by the store, which may
      // refuse it now: the first answer, if there is one, wins (a read on the refusal path only).
      const earlier = await this.reservations.findView(id);
      if (earlier) return this.replay(id, hash, 0);
      this.outcomes.inc({ outcome: 'refused' });
      const fitsUpTo = outcome.fitsUpTo;
      throw new ReservationError('insufficient_budget', `Not enough budget at the ${outcome.level} level.`, {
        level: outcome.level,
        required: outcome.required,
        available: outcome.available,
        ...(priced.hasLadder
          ? {
              downgrade_options: (await priced.alternatives())
                .filter((a) => fitsUpTo === null || (fitsUpTo !== undefined && a.amount <= fitsUpTo))
                .map(presentOption),
            }
          : {}),
      });
    }
    if (outcome.kind === 'duplicate') return this.replay(id, hash, DUPLICATE_WAIT_MS);

    const choice = outcome.choice ?? 0;
    const chosen: PricedOption = choice === 0 ? priced.requested : alternatives[choice - 1];
    const pricing: ReservationPricing | null =
      chosen.pricing && choice > 0
        ? {
            ...chosen.pricing,
            requested: {
              product: priced.requested.pricing!.product,
              dimensions: priced.requested.pricing!.dimensions,
              amount: priced.requested.amount,
            },
          }
        : chosen.pricing;
    const reservation: Reservation = {
      id,
      orgId: scope.orgId,
      environment: scope.environment,
      projectId: input.projectId,
      userId: input.userId,
      amount: chosen.amount,
      idempotencyKey,
      requestHash: hash,
      periods: outcome.periods,
      expiresAt,
      metadata: input.metadata ?? null,
      response: presentHeld(id, scope.orgId, { ...input, amount: chosen.amount, pricing }, expiresAt, outcome.remaining, now),
      pricing,
      createdBy: ctx.principal.actor,
      createdAt: now,
    };
    let written;
    try {
      written = await this.reservations.insertHeld(reservation, thresholdEvents(scope, outcome.crossings, now));
    } catch {
      await this.store.release(scope, id).catch(() => this.store.unload(scope).catch(() => undefined));
      this.outcomes.inc({ outcome: 'unrecorded' });
      throw storeUnavailable();
    }
    if (written === 'conflict') {
      // A retry of a reservation that already ended: the store admitted it anew; undo that.
      await this.store.release(scope, id).catch(() => this.store.unload(scope).catch(() => undefined));
      return this.replay(id, hash, 0);
    }
    if (pricing) this.context.rememberPricing(id, pricing);
    this.outcomes.inc({ outcome: choice > 0 ? 'downgraded' : 'held' });
    return { status: 201, body: reservation.response, replayed: false };
  }

  /** The first answer for this key, once Postgres has it; another body under the key is a 409. */
  private async replay(id: string, hash: string, waitMs: number): Promise<ReserveResult> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const view = await this.reservations.findView(id);
      if (view) {
        if (view.requestHash !== hash) {
          throw new PlatformError('idempotency_key_reused', 'This Idempotency-Key was already used with a different request.');
        }
        return { status: 201, body: view.response, replayed: true };
      }
      if (Date.now() >= deadline) {
        throw new PlatformError('idempotency_request_in_progress', 'A request with this Idempotency-Key is still being processed.', {
          retry_after_seconds: 1,
        });
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
