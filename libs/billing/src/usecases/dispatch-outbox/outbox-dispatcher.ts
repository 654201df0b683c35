import { randomBytes } from 'node:crypto';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { BrokenCircuitError, CircuitBreakerPolicy, CircuitState, ConsecutiveBreaker, circuitBreaker, handleAll } from 'cockatiel';
import { Counter, Gauge } from 'prom-client';
import { BillingConfig } from '@tollgate/config';
import { MetricsService, ReadinessDetails } from '@tollgate/platform';
import { BillingEnvironment } from '../../domain/billable-event';
import { DeliveryOutcome } from '../../domain/delivery';
import { retryDelayMs } from '../../domain/routing';
import {
  BackendStats,
  DEFAULT_DESTINATION,
  DeliveryResult,
  LeasedDelivery,
  OutboxRepository,
} from '../../adapters/mikro-orm/outbox.repository';
import { BillingBackends } from '../../billing-backends.registry';
import { BillingBackend } from '../../ports/billing-backend.port';

/** Every event of the call failed retryably: counts as one failure for the breaker. */
class CallFailed extends Error {
  constructor(readonly outcomes: DeliveryOutcome[]) {
    super(outcomes[0]?.status === 'retryable' ? outcomes[0].reason : 'call failed');
  }
}

interface Lane {
  backend: BillingBackend;
  /** The environments this instance can send to this backend (it has their credentials). */
  environments: BillingEnvironment[];
  breaker: CircuitBreakerPolicy;
  /** No lease before this instant (breaker open, or the vendor's Retry-After). */
  pausedUntil: number;
  tokens: number;
  refilledAt: number;
  /**
   * The last lease was a full batch: the extra loops help only then. With a small backlog one
   * loop sends it in one call (several would split it into several calls, each hitting a
   * vendor that asked to wait).
   */
  backlog: boolean;
  rate: number;
}

const ROUTE_BATCH = 5_000;

/**
 * The outbox dispatcher: resolves the commit's 'default' rows into deliveries (routing at the
 * event's creation), then, one independent loop per backend (a slow or failing shadow never
 * delays a primary), leases due deliveries with FOR UPDATE SKIP LOCKED, sends them in batches
 * per customer within the vendor's limit, at a bounded concurrency and rate, and records each
 * outcome: delivered, failed (due again after backoff with jitter, never before Retry-After),
 * dead (permanent, too many attempts or too old). A circuit breaker per backend stops calls to a
 * vendor that keeps failing. Several instances share the work through the leases.
 */
@Injectable()
export class OutboxDispatcher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('OutboxDispatcher');
  private readonly lanes: Lane[];
  private running = false;
  private loops: Promise<void>[] = [];
  private wake: (() => void)[] = [];
  private statsCache: { at: number; value: Promise<BackendStats[]> } | null = null;
  private readonly delivered: Counter<'backend'>;
  private readonly attemptsFailed: Counter<'backend'>;

  constructor(
    private readonly outbox: OutboxRepository,
    backends: BillingBackends,
    private readonly config: BillingConfig,
    metrics: MetricsService,
    readiness: ReadinessDetails,
  ) {
    this.lanes = backends.names().map((name) => {
      const backend = backends.get(name);
      const breaker = circuitBreaker(handleAll, {
        halfOpenAfter: config.breakerHalfOpenMs,
        breaker: new ConsecutiveBreaker(config.breakerFailures),
      });
      const rate = config.rateFor(name);
      const environments = (['live', 'test'] as const).filter((e) => backend.missingConfiguration(e).length === 0);
      const lane: Lane = { backend, environments, breaker, pausedUntil: 0, tokens: rate, refilledAt: Date.now(), rate, backlog: false };
      breaker.onBreak(() => {
        lane.pausedUntil = Math.max(lane.pausedUntil, Date.now() + config.breakerHalfOpenMs);
        this.logger.warn({ backend: name, pauseMs: config.breakerHalfOpenMs }, 'billing backend circuit opened');
      });
      breaker.onReset(() => this.logger.log({ backend: name }, 'billing backend circuit closed'));
      return lane;
    });
    const registers = [metrics.registry];
    this.delivered = new Counter({
      name: 'tollgate_billing_outbox_delivered_total',
      help: 'Deliveries accepted by the backend, by this instance',
      labelNames: ['backend'],
      registers,
    });
    this.attemptsFailed = new Counter({
      name: 'tollgate_billing_outbox_failed_attempts_total',
      help: 'Delivery attempts that failed (retryable), by this instance',
      labelNames: ['backend'],
      registers,
    });
    const gauge = (name: string, help: string, pick: (s: BackendStats) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['backend'],
        registers,
        collect: async function (this: Gauge<'backend'>) {
          this.reset();
          // Every backend and the unrouted rows answer, 0 when nothing waits: a dashboard sees a flat line, not a gap.
          const stats = await self.stats();
          for (const name of [DEFAULT_DESTINATION, ...self.lanes.map((l) => l.backend.name)]) this.set({ backend: name }, 0);
          for (const s of stats) this.set({ backend: s.backend }, pick(s));
        },
      });
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    gauge(
      'tollgate_billing_outbox_lag_seconds',
      'Seconds since the oldest undelivered event was created (backend default: not routed yet)',
      (s) => s.lagSeconds,
    );
    gauge('tollgate_billing_outbox_pending', 'Deliveries waiting for their first attempt', (s) => s.pending);
    gauge('tollgate_billing_outbox_failed', 'Deliveries whose last attempt failed, due again', (s) => s.failed);
    gauge('tollgate_billing_outbox_dead', 'Deliveries given up (dead-lettered)', (s) => s.dead);
    readiness.register('billing_outbox', async () => {
      const stats = await this.stats();
      return {
        lag_seconds: Math.max(0, ...stats.map((s) => s.lagSeconds)),
        backends: Object.fromEntries(
          stats.map((s) => [s.backend, { lag_seconds: s.lagSeconds, pending: s.pending, failed: s.failed, dead: s.dead }]),
        ),
      };
    });
  }

  /** Outbox figures, shared by the metrics of one scrape and the readiness check (one query a second at most). */
  stats(): Promise<BackendStats[]> {
    const now = Date.now();
    if (!this.statsCache || now - this.statsCache.at > 1_000) {
      const value = this.outbox.stats().then((s) => s.map((x) => ({ ...x, lagSeconds: Math.round(x.lagSeconds * 1000) / 1000 })));
      value.catch(() => (this.statsCache = null));
      this.statsCache = { at: now, value };
    }
    return this.statsCache.value;
  }

  onApplicationBootstrap(): void {
    if (this.config.dispatchEnabled) this.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    // Per backend, `concurrency` loops each leasing one call's worth: leases, vendor calls and
    // outcome writes of different loops overlap, and the bucket and breaker are the backend's.
    const senders = this.sendingLanes().flatMap((lane) =>
      Array.from({ length: this.config.dispatchConcurrency }, (_, i) =>
        this.loop(lane.backend.name, lane.backend.maxBatchSize, () => (i === 0 || lane.backlog ? this.pump(lane, 1) : Promise.resolve(0))),
      ),
    );
    this.loops = [this.loop(DEFAULT_DESTINATION, ROUTE_BATCH, () => this.routeOnce()), ...senders];
  }

  /** Stops leasing and waits for the calls in flight to be recorded. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    for (const wake of this.wake.splice(0)) wake();
    await Promise.all(this.loops);
    this.loops = [];
  }

  /** One pass over everything due (tests drive the dispatcher by hand with this). Returns what it handled. */
  async runOnce(): Promise<number> {
    let handled = 0;
    while ((await this.routeOnce()) > 0) handled++;
    const sent = await Promise.all(this.sendingLanes().map((lane) => this.pump(lane, this.config.dispatchConcurrency)));
    return handled + sent.reduce((a, b) => a + b, 0);
  }

  /** Backends this instance can send to at all; the others' deliveries wait for an instance that can. */
  private sendingLanes(): Lane[] {
    return this.lanes.filter((lane) => lane.environments.length > 0);
  }

  /**
   * Runs a step again at once while it finds a full batch (a backlog), else after the interval:
   * under steady traffic the events of one interval go in one statement and one call, rather
   * than a transaction and a vendor call per commit.
   */
  private async loop(name: string, full: number, step: () => Promise<number>): Promise<void> {
    while (this.running) {
      let work = 0;
      try {
        work = await step();
      } catch (error) {
        this.logger.error({ lane: name, err: (error as Error).message }, 'billing dispatch round failed');
      }
      if (!this.running) break;
      if (work < full) await this.sleep(this.config.dispatchIntervalMs);
      else await new Promise((r) => setImmediate(r));
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = this.wake.filter((w) => w !== done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake.push(done);
    });
  }

  private routeOnce(): Promise<number> {
    return this.outbox.route(ROUTE_BATCH);
  }

  /** One lease of a backend's due deliveries, sent and recorded. Returns how many were leased. */
  private async pump(lane: Lane, maxCalls: number): Promise<number> {
    const now = Date.now();
    if (now < lane.pausedUntil) return 0;
    lane.tokens = Math.min(Math.max(lane.rate, 1), lane.tokens + ((now - lane.refilledAt) * lane.rate) / 1000);
    lane.refilledAt = now;
    const { backend } = lane;
    const limit = Math.min(Math.floor(lane.tokens), maxCalls * backend.maxBatchSize);
    if (limit < 1) return 0;
    const leaseId = randomBytes(9).toString('base64url');
    // Taken before the lease (another loop of this backend may refill meanwhile), given back if unused.
    lane.tokens -= limit;
    const leased = await this.outbox.lease(backend.name, lane.environments, limit, leaseId, this.config.leaseMs);
    lane.tokens += limit - leased.length;
    lane.backlog = leased.length === limit;
    if (leased.length === 0) return 0;
    const calls = batches(leased, backend.maxBatchSize);
    let next = 0;
    const worker = async () => {
      while (next < calls.length) {
        const call = calls[next++];
        await this.send(lane, leaseId, call);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.config.dispatchConcurrency, calls.length) }, worker));
    return leased.length;
  }

  private async send(lane: Lane, leaseId: string, call: LeasedDelivery[]): Promise<void> {
    const { backend } = lane;
    // Paused meanwhile (Retry-After, breaker): give the rows back untouched rather than call.
    if (Date.now() < lane.pausedUntil)
      return this.outbox.release(
        leaseId,
        call.map((d) => d.id),
        new Date(lane.pausedUntil),
      );
    let outcomes: DeliveryOutcome[];
    try {
      outcomes = await lane.breaker.execute(async () => {
        const answered = await backend.deliver(call.map((d) => ({ event: d.event, customer: d.customer })));
        if (answered.length > 0 && answered.every((o) => o.status === 'retryable')) throw new CallFailed(answered);
        return answered;
      });
    } catch (error) {
      if (error instanceof BrokenCircuitError) {
        return this.outbox.release(
          leaseId,
          call.map((d) => d.id),
          new Date(Math.max(Date.now(), lane.pausedUntil)),
        );
      }
      const reason = (error as Error).message;
      outcomes = error instanceof CallFailed ? error.outcomes : call.map((d) => ({ eventId: d.event.id, status: 'retryable', reason }));
    }
    const retryAfter = Math.max(0, ...outcomes.map((o) => (o.status === 'retryable' ? (o.retryAfterMs ?? 0) : 0)));
    if (retryAfter > 0) lane.pausedUntil = Math.max(lane.pausedUntil, Date.now() + retryAfter);
    const results = call.map((delivery, i) => this.result(delivery, outcomes[i], retryAfter));
    const delivered = results.filter((r) => r.status === 'delivered').length;
    if (delivered > 0) this.delivered.inc({ backend: backend.name }, delivered);
    if (delivered < results.length) this.attemptsFailed.inc({ backend: backend.name }, results.length - delivered);
    const dead = results.filter((r) => r.status === 'dead');
    if (dead.length > 0)
      this.logger.warn({ backend: backend.name, dead: dead.length, reason: dead[0].error }, 'billing deliveries dead-lettered');
    await this.outbox.complete(leaseId, results);
  }

  private result(delivery: LeasedDelivery, outcome: DeliveryOutcome | undefined, retryAfterMs: number): DeliveryResult {
    if (!outcome) return this.retryable(delivery, 'no outcome from the backend', retryAfterMs);
    if (outcome.status === 'delivered') return { id: delivery.id, status: 'delivered' };
    if (outcome.status === 'permanent') return { id: delivery.id, status: 'dead', error: `refused: ${outcome.reason}` };
    return this.retryable(delivery, outcome.reason, Math.max(retryAfterMs, outcome.retryAfterMs ?? 0));
  }

  private retryable(delivery: LeasedDelivery, reason: string, retryAfterMs: number): DeliveryResult {
    const { maxAttempts, deadAfterSeconds, retryBaseMs, retryMaxMs } = this.config;
    if (delivery.attempts >= maxAttempts)
      return { id: delivery.id, status: 'dead', error: `${reason} (after ${delivery.attempts} attempts)` };
    if (Date.now() - delivery.createdAt.getTime() > deadAfterSeconds * 1000) {
      return { id: delivery.id, status: 'dead', error: `${reason} (older than ${deadAfterSeconds} s)` };
    }
    const delay = retryDelayMs(delivery.attempts, retryBaseMs, retryMaxMs, retryAfterMs || undefined);
    return { id: delivery.id, status: 'failed', nextAttemptAt: new Date(Date.now() + delay), error: reason };
  }

  /** The breaker's state per backend (for tests and logs). */
  breakerStates(): Record<string, CircuitState> {
    return Object.fromEntries(this.lanes.map((l) => [l.backend.name, l.breaker.state]));
  }
}

/** Calls of at most `size` events, each for one environment and customer (the vendor's batch unit), oldest first. */
export function batches(deliveries: readonly LeasedDelivery[], size: number): LeasedDelivery[][] {
  const groups = new Map<string, LeasedDelivery[]>();
  for (const d of deliveries) {
    const key = `${d.event.environment}\n${d.customer}`;
    const group = groups.get(key) ?? [];
    group.push(d);
    groups.set(key, group);
  }
  const calls: LeasedDelivery[][] = [];
  for (const group of groups.values()) for (let i = 0; i < group.length; i += size) calls.push(group.slice(i, i + size));
  return calls;
}
