import { randomBytes } from 'node:crypto';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { WebhooksConfig } from '@tollgate/config';
import { MetricsService } from '@tollgate/platform';
import { LeasedWebhook, WebhookDeliveriesRepository, WebhookOutboxStats } from '../../adapters/mikro-orm/webhook-deliveries.repository';
import { WebhookSender } from '../../adapters/http/webhook-sender';
import { decide } from '../../domain/delivery-policy';
import { signingSecrets, webhookBody } from '../../domain/webhook-message';

/** Calls in flight at most (one instance). */
const CONCURRENCY = 16;
/** Calls in flight at most to one endpoint: a slow endpoint holds a few slots, never all of them. */
const PER_ENDPOINT = 4;
/** Events fanned out per statement. */
const FAN_OUT_BATCH = 1_000;

/**
 * The outbound webhook dispatcher (decision 027): fans recorded `webhook_events` out into one
 * delivery per subscribed endpoint, leases due deliveries (FOR UPDATE SKIP LOCKED, then a lease
 * other instances respect), sends each signed, and records every attempt: delivered on 2xx,
 * else failed and due again after backoff with jitter (never before Retry-After), dead after
 * `maxAttempts`. A per-endpoint circuit, kept in Postgres so every instance shares it, stops
 * calling an endpoint after `breakerFailures` consecutive failures for `breakerOpenMs`, then
 * lets one delivery probe it. A dead delivery records no event of its own (`billing.delivery_dead`
 * is the billing outbox's).
 */
@Injectable()
export class WebhookDispatcher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('WebhookDispatcher');
  private running = false;
  private loopDone: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private statsCache: { at: number; value: Promise<WebhookOutboxStats> } | null = null;
  private readonly outcomes: Counter<'outcome'>;
  private readonly leaseMs: number;

  constructor(
    private readonly deliveries: WebhookDeliveriesRepository,
    private readonly sender: WebhookSender,
    private readonly config: WebhooksConfig,
    metrics: MetricsService,
  ) {
    // A lease outlives the slowest call (the timeout) with room for recording it.
    this.leaseMs = config.timeoutMs * 2 + 10_000;
    const registers = [metrics.registry];
    this.outcomes = new Counter({
      name: 'tollgate_webhook_deliveries_total',
      help: 'Outbound webhook delivery attempts by outcome (delivered, failed: retried later, dead: given up), by this instance',
      labelNames: ['outcome'],
      registers,
    });
    for (const outcome of ['delivered', 'failed', 'dead']) this.outcomes.inc({ outcome }, 0);
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    new Gauge({
      name: 'tollgate_webhook_deliveries_due',
      help: 'Outbound webhook deliveries pending or failed (waiting for an attempt)',
      registers,
      async collect() {
        this.set((await self.stats()).due);
      },
    });
    new Gauge({
      name: 'tollgate_webhook_lag_seconds',
      help: 'Seconds since the oldest outbound webhook event not delivered yet (or not fanned out) was created',
      registers,
      async collect() {
        this.set((await self.stats()).lagSeconds);
      },
    });
  }

  /** Outbox figures for one scrape (one query a second at most). */
  stats(): Promise<WebhookOutboxStats> {
    const now = Date.now();
    if (!this.statsCache || now - this.statsCache.at > 1_000) {
      const value = this.deliveries.stats();
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
    this.loopDone = this.loop();
  }

  /** Stops leasing and waits for the calls in flight to be recorded. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wake?.();
    await this.loopDone;
    this.loopDone = null;
  }

  /** One round: fan out what is pending, then send one lease of due deliveries. Returns the work done. */
  async runOnce(): Promise<number> {
    let work = 0;
    for (let n = await this.deliveries.fanOut(FAN_OUT_BATCH); n > 0; n = await this.deliveries.fanOut(FAN_OUT_BATCH)) work += n;
    return work + (await this.pump());
  }

  /**
   * A pool, not rounds: a slot freed by a finished call is filled at once, so an endpoint that
   * answers slowly (up to the timeout) delays only the calls it holds, at most PER_ENDPOINT.
   */
  private async loop(): Promise<void> {
    const inFlight = new Set<Promise<void>>();
    const perEndpoint = new Map<string, number>();
    while (this.running) {
      let sent = false;
      try {
        for (let n = await this.deliveries.fanOut(FAN_OUT_BATCH); n > 0; n = await this.deliveries.fanOut(FAN_OUT_BATCH));
        const free = CONCURRENCY - inFlight.size;
        if (free > 0) {
          const leaseId = randomBytes(9).toString('base64url');
          const full = [...perEndpoint].filter(([, n]) => n >= PER_ENDPOINT).map(([id]) => id);
          const leased = await this.deliveries.lease(free, leaseId, this.leaseMs, full);
          const admitted = await this.admitThroughCircuits(leaseId, leased);
          const sending: LeasedWebhook[] = [];
          const giveBack: string[] = [];
          for (const delivery of admitted) {
            const busy = perEndpoint.get(delivery.endpoint.id) ?? 0;
            if (busy >= PER_ENDPOINT) {
              giveBack.push(delivery.id);
              continue;
            }
            perEndpoint.set(delivery.endpoint.id, busy + 1);
            sending.push(delivery);
          }
          await this.deliveries.release(leaseId, giveBack);
          sent = sending.length > 0;
          for (const delivery of sending) {
            const call: Promise<void> = this.deliver(leaseId, delivery)
              .catch((error) =>
                this.logger.error({ err: (error as Error).message, delivery: delivery.id }, 'webhook delivery failed to record'),
              )
              .finally(() => {
                inFlight.delete(call);
                const left = (perEndpoint.get(delivery.endpoint.id) ?? 1) - 1;
                if (left > 0) perEndpoint.set(delivery.endpoint.id, left);
                else perEndpoint.delete(delivery.endpoint.id);
                this.wake?.();
              });
            inFlight.add(call);
          }
        }
      } catch (error) {
        this.logger.error({ err: (error as Error).message }, 'webhook dispatch round failed');
      }
      if (!this.running) break;
      // Nothing due, or every slot busy: wait for a call to finish or the interval, whichever first.
      if (!sent || inFlight.size >= CONCURRENCY) await this.sleep(this.config.dispatchIntervalMs);
    }
    // Stopping: the calls in flight are recorded before the dispatcher says it stopped.
    await Promise.all([...inFlight]);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
    });
  }

  private async pump(): Promise<number> {
    const leaseId = randomBytes(9).toString('base64url');
    const leased = await this.deliveries.lease(CONCURRENCY, leaseId, this.leaseMs);
    if (leased.length === 0) return 0;
    const sending = await this.admitThroughCircuits(leaseId, leased);
    await Promise.all(sending.map((delivery) => this.deliver(leaseId, delivery)));
    return leased.length;
  }

  /**
   * An endpoint whose circuit tripped and whose open period ended is half-open: one delivery
   * probes it (the instance that claims the probe sends it), the others are given back unsent.
   */
  private async admitThroughCircuits(leaseId: string, leased: LeasedWebhook[]): Promise<LeasedWebhook[]> {
    const sending: LeasedWebhook[] = [];
    const giveBack: string[] = [];
    const probed = new Map<string, boolean>();
    for (const delivery of leased) {
      const { endpoint } = delivery;
      if (endpoint.consecutiveFailures < this.config.breakerFailures) {
        sending.push(delivery);
        continue;
      }
      if (!probed.has(endpoint.id)) {
        const won = await this.deliveries.claimProbe(endpoint.id, this.config.breakerFailures, this.leaseMs);
        probed.set(endpoint.id, won);
        if (won) {
          sending.push(delivery);
          continue;
        }
      }
      giveBack.push(delivery.id);
    }
    await this.deliveries.release(leaseId, giveBack);
    return sending;
  }

  private async deliver(leaseId: string, delivery: LeasedWebhook): Promise<void> {
    const startedAt = new Date();
    const payload = webhookBody(delivery.event);
    const outcome = await this.sender.send(delivery.endpoint.url, delivery.event.id, payload, signingSecrets(delivery.endpoint, startedAt));
    const decision = decide(outcome, delivery.attempts, this.config);
    this.outcomes.inc({ outcome: decision.status });
    const error = decision.status === 'delivered' ? null : decision.error;
    if (decision.status === 'dead') {
      this.logger.warn({ delivery: delivery.id, endpoint: delivery.endpoint.id, reason: error }, 'webhook delivery dead');
    }
    await this.deliveries.complete(
      leaseId,
      {
        id: delivery.id,
        status: decision.status,
        nextAttemptAt: decision.status === 'failed' ? new Date(Date.now() + decision.nextAttemptInMs) : null,
        startedAt,
        durationMs: outcome.durationMs,
        statusCode: outcome.statusCode,
        error,
      },
      { threshold: this.config.breakerFailures, openMs: this.config.breakerOpenMs },
    );
  }
}
