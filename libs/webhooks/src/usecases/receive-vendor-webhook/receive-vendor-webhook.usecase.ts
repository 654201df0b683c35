import { Injectable, Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { Counter } from 'prom-client';
import sjson from 'secure-json-parse';
import { WebhooksConfig } from '@tollgate/config';
import { Clock, MetricsService, PlatformError, TtlCache } from '@tollgate/platform';
import { GrantCreditsUseCase } from '@tollgate/quota';
import {
  CallContext,
  type Environment,
  GetOrganizationUseCase,
  GetOrgSettingsUseCase,
  KeyRateLimiter,
  OrgSettings,
  Principal,
  UpdateOrganizationUseCase,
} from '@tollgate/tenancy';
import { VendorSignatures } from '../../adapters/signatures/vendor-signatures';
import { WebhookReceiptRepository } from '../../adapters/mikro-orm/webhook-receipt.repository';
import { classifyFlexprice, classifyMetronome, VendorSignal, WebhookSource } from '../../domain/vendor-signal';
import { NewReceipt, RawJson, ReceiptAction, ReceiptOutcome } from '../../domain/webhook-receipt';
import { WebhooksError } from '../../domain/webhooks.error';

export interface InboundDelivery {
  source: WebhookSource;
  raw: Buffer;
  headers: Record<string, string | string[] | undefined>;
  remoteIp: string | null;
  requestId: string | null;
}

export interface ReceiveAnswer {
  received: true;
  receipt_id: string;
  delivery_id: string | null;
  outcome: ReceiptOutcome;
  action: ReceiptAction | null;
  reason: string | null;
}

/** The actor a vendor's delivery acts as, in the audit log (`webhook:flexprice`). */
class VendorPrincipal extends Principal {
  constructor(
    private readonly source: WebhookSource,
    environment: Environment,
  ) {
    super(`webhook:${source}`, 'platform', null, environment, ['quota:admin', 'billing:admin']);
  }

  override get actor(): string {
    return `webhook:${this.source}`;
  }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether Postgres' jsonb would refuse this JSON: an escaped U+0000, or a lone surrogate (only looked for when escaped). */
function jsonbRefuses(text: string, parsed: unknown): boolean {
  if (text.includes('\\u0000')) return true;
  if (!/\\u[dD][89a-fA-F]/.test(text)) return false;
  const stack: unknown[] = [parsed];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node === 'string') {
      if (LONE_SURROGATE.test(node)) return true;
    } else if (node !== null && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        if (LONE_SURROGATE.test(key)) return true;
        stack.push(value);
      }
    }
  }
  return false;
}

interface Effect {
  outcome: ReceiptOutcome;
  action: ReceiptAction | null;
  reason: string | null;
}

/** A change the signal asks for (a status, a grant), run only when its delivery was not claimed before. */
interface Change {
  run: (ctx: CallContext, orgId: string) => Promise<Effect>;
  /** Answers the effect when there is nothing to change after all (so no claim check is needed). */
  unchanged?: (ctx: CallContext, orgId: string) => Promise<Effect | null>;
}

/**
 * One vendor delivery, start to end: rate limit per source, verify the exact bytes, parse, drop a
 * redelivery (its id claimed before), map the vendor customer to its organization, apply the
 * organization's action for the signal, record the receipt. Every delivery is recorded with its
 * outcome, refused ones included (without their unauthenticated body).
 *
 * No second effect: actions are idempotent by construction (a status set to what it is changes
 * nothing; a grant's id is derived from the vendor's transaction, so it is inserted once) and the
 * receipt claims the delivery id after them. A crash between the two leaves an unclaimed id, and
 * the redelivery repeats idempotent actions: at-least-once delivery becomes exactly-once effect.
 */
@Injectable()
export class ReceiveVendorWebhookUseCase {
  private readonly logger = new Logger('VendorWebhooks');
  private readonly limiter: KeyRateLimiter;
  /**
   * Vendor customer → organization, positive answers only, for a minute: the billing switch
   * rarely moves a customer, and an unknown one is looked up every time (it may have just been
   * switched), so a cache never turns a known customer into an acknowledged, ignored delivery.
   */
  private readonly customerOrgs = new TtlCache<string[]>(60_000, 50_000);
  private readonly received: Counter<'source' | 'outcome'>;
  private readonly alerts: Counter<'source' | 'kind'>;

  constructor(
    config: WebhooksConfig,
    metrics: MetricsService,
    private readonly signatures: VendorSignatures,
    private readonly receipts: WebhookReceiptRepository,
    private readonly organizations: GetOrganizationUseCase,
    private readonly settings: GetOrgSettingsUseCase,
    private readonly updateOrganization: UpdateOrganizationUseCase,
    private readonly grants: GrantCreditsUseCase,
    private readonly clock: Clock,
  ) {
    this.limiter = new KeyRateLimiter(config.inboundRate, config.inboundRate, 10_000);
    this.received = new Counter({
      name: 'tollgate_webhooks_inbound_total',
      help: 'Inbound vendor webhook deliveries by source and outcome',
      labelNames: ['source', 'outcome'] as const,
      registers: [metrics.registry],
    });
    this.alerts = new Counter({
      name: 'tollgate_vendor_alerts_total',
      help: 'Alerts raised from vendor webhooks (balance low, spend threshold) by source and kind',
      labelNames: ['source', 'kind'] as const,
      registers: [metrics.registry],
    });
  }

  async execute(delivery: InboundDelivery): Promise<ReceiveAnswer> {
    const { source } = delivery;
    // Before any work, so a flood of forged deliveries costs a map look-up each (not recorded: that is the flood).
    const wait = this.limiter.take(`${source}:${delivery.remoteIp ?? 'unknown'}`, Date.now());
    if (wait > 0) {
      this.received.inc({ source, outcome: 'rate_limited' });
      throw new PlatformError('rate_limited', `Too many ${source} webhook deliveries from this address; retry later.`, {
        retry_after_seconds: wait,
      });
    }
    const bodySha256 = createHash('sha256').update(delivery.raw).digest('hex');
    const base = { source, remoteIp: delivery.remoteIp, bodySha256 };

    const verified = this.signatures.verify(source, delivery.raw, delivery.headers);
    if (!verified.ok) {
      await this.record({
        ...base,
        deliveryId: verified.claimedId,
        environment: null,
        orgId: null,
        eventType: null,
        kind: null,
        outcome: 'refused',
        reason: verified.reason,
        action: null,
        payload: null,
      });
      if (verified.reason === 'not_configured') {
        throw new WebhooksError('webhook_not_configured', `${source} webhooks cannot be verified: ${verified.detail}.`);
      }
      throw new WebhooksError('webhook_signature_invalid', `The ${source} delivery did not verify: ${verified.detail}.`, {
        reason: verified.reason,
      });
    }
    const { environment } = verified;

    let body: Record<string, unknown>;
    try {
      const parsed: unknown = sjson.parse(verified.text, null, { protoAction: 'remove', constructorAction: 'remove' });
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      body = parsed as Record<string, unknown>;
    } catch {
      return this.answer(
        { ...base, deliveryId: verified.deliveryId, environment, orgId: null, eventType: null, kind: null, payload: null },
        { outcome: 'ignored', action: null, reason: 'the body is not a JSON object' },
      );
    }
    // The verified text is stored as is (jsonb parses it once more, nothing re-serializes it). Postgres
    // jsonb cannot hold U+0000 or a lone surrogate, so such a payload is recorded without its body
    // (found here, so it never fails the batch of receipts it would have been written with).
    const payload = jsonbRefuses(verified.text, body) ? null : new RawJson(verified.text);

    const deliveryId =
      verified.mode === 'metronome'
        ? typeof body.id === 'string' && body.id.length > 0 && body.id.length <= 256
          ? body.id
          : null
        : // Native Flexprice deliveries carry no id: the same bytes are the same delivery (bodies carry their own instants and ids).
          (verified.deliveryId ?? `sha256:${bodySha256}`);
    const signal = source === 'flexprice' ? classifyFlexprice(body) : classifyMetronome(body);
    const known = { ...base, deliveryId, environment, eventType: signal.eventType, kind: signal.kind, payload };
    if (deliveryId === null) {
      return this.answer({ ...known, orgId: null }, { outcome: 'ignored', action: null, reason: 'the notification has no id' });
    }
    const orgs = await this.customerOrgsOf(source, environment, signal.customerRefs);
    if (orgs.length !== 1) {
      const reason =
        signal.customerRefs.length === 0
          ? 'the payload names no customer'
          : orgs.length === 0
            ? `no organization has ${source} customer ${signal.customerRefs.join(' / ')} in ${environment}`
            : `${source} customer ${signal.customerRefs.join(' / ')} belongs to several organizations`;
      const outcome: ReceiptOutcome = signal.kind === 'other' || signal.kind === 'invoice_finalized' ? 'recorded' : 'unknown_customer';
      return this.answer({ ...known, orgId: null }, { outcome, action: outcome === 'recorded' ? 'none' : null, reason });
    }
    const [orgId] = orgs;
    const ctx: CallContext = { principal: new VendorPrincipal(source, environment), requestId: delivery.requestId };
    const decided = this.decide(signal, await this.settings.execute(orgId, environment));
    // A status already where the signal would take it (every payment of an active organization)
    // changes nothing: recorded like any other signal that changes nothing.
    const settled = 'run' in decided ? ((await decided.unchanged?.(ctx, orgId)) ?? decided) : decided;
    if (!('run' in settled)) {
      // Nothing to change in the database (a record, an alert): the receipt's insert is the claim,
      // and the alert is raised only when it claimed, so a redelivery raises none.
      const answer = await this.answer({ ...known, orgId }, settled);
      if (answer.outcome !== 'duplicate' && settled.action === 'alert') this.alert(orgId, signal, source);
      return answer;
    }
    // A change (a status, a grant) is checked against the claim first, so a replay does not act
    // again; it is idempotent besides, so two copies racing past the check change it once.
    const claim = await this.receipts.findClaim(source, deliveryId);
    if (claim) {
      return this.answer(
        { ...known, orgId: claim.orgId },
        { outcome: 'duplicate', action: null, reason: `already received at ${claim.receivedAt.toISOString()} (receipt ${claim.id})` },
      );
    }
    let effect: Effect;
    try {
      effect = await settled.run(ctx, orgId);
    } catch (error) {
      // Recorded, then answered 5xx: the vendor delivers it again and the (idempotent) action is retried.
      await this.record({
        ...known,
        orgId,
        outcome: 'failed',
        action: null,
        reason: String((error as Error)?.message ?? error).slice(0, 500),
      });
      throw error;
    }
    return this.answer({ ...known, orgId }, effect);
  }

  /** What the organization's settings make of the signal: an effect known now, or a change to run. */
  private decide(signal: VendorSignal, settings: Readonly<OrgSettings>): Effect | Change {
    const status = (to: 'past_due' | 'active'): Change => ({
      unchanged: (ctx, orgId) => this.statusUnchanged(ctx, orgId, to),
      run: (ctx, orgId) => this.setStatus(ctx, orgId, to, signal),
    });
    const alert: Effect = { outcome: 'applied', action: 'alert', reason: signal.eventType };
    switch (signal.kind) {
      case 'payment_failed':
        return settings.on_payment_failed === 'past_due'
          ? status('past_due')
          : { outcome: 'recorded', action: 'none', reason: 'on_payment_failed is none' };
      case 'payment_succeeded':
        return settings.on_payment_succeeded === 'active'
          ? status('active')
          : { outcome: 'recorded', action: 'none', reason: 'on_payment_succeeded is none' };
      case 'spend_threshold':
        if (settings.on_spend_threshold === 'past_due') return status('past_due');
        if (settings.on_spend_threshold === 'alert') return alert;
        return { outcome: 'recorded', action: 'none', reason: 'on_spend_threshold is none' };
      case 'balance_low':
        return settings.on_balance_low === 'alert' ? alert : { outcome: 'recorded', action: 'none', reason: 'on_balance_low is none' };
      case 'credits_granted': {
        if (settings.on_credits_granted !== 'grant') return { outcome: 'recorded', action: 'none', reason: 'on_credits_granted is none' };
        if (!signal.grant) return { outcome: 'recorded', action: 'none', reason: signal.note };
        const { grant } = signal;
        if (grant.expiresAt && grant.expiresAt.getTime() <= this.clock.now().getTime()) {
          return { outcome: 'recorded', action: 'none', reason: `the vendor's credit expired at ${grant.expiresAt.toISOString()}` };
        }
        return {
          run: async (ctx: CallContext, orgId: string) => {
            const result = await this.grants.grantOnce(ctx, orgId, grant.grantId, {
              amount: grant.amount,
              reason: grant.reason,
              source: grant.grantId,
              expiresAt: grant.expiresAt ?? undefined,
            });
            return result.created
              ? { outcome: 'applied', action: 'credit_grant', reason: `granted ${grant.amount} micro-credits (${result.grant?.id})` }
              : { outcome: 'recorded', action: 'none', reason: `${grant.grantId} was granted before` };
          },
        };
      }
      case 'invoice_finalized':
        return { outcome: 'recorded', action: 'none', reason: null };
      default:
        return { outcome: 'recorded', action: 'none', reason: signal.note };
    }
  }

  /**
   * past_due only from active (a suspended organization stays suspended), active only from
   * past_due (never un-suspends). Through the same use case as PATCH, so it is audited and every
   * instance's cache hears of it.
   */
  private async setStatus(ctx: CallContext, orgId: string, to: 'past_due' | 'active', signal: VendorSignal): Promise<Effect> {
    const unchanged = await this.statusUnchanged(ctx, orgId, to);
    if (unchanged) return unchanged;
    const from = to === 'past_due' ? 'active' : 'past_due';
    await this.updateOrganization.execute(ctx, orgId, { status: to });
    this.logger.warn(`organization ${orgId}: ${from} -> ${to} (${signal.eventType})`);
    return { outcome: 'applied', action: to, reason: `${from} -> ${to} on ${signal.eventType}` };
  }

  /** The effect of a status signal that finds the organization where it cannot move it from (null: it can). */
  private async statusUnchanged(ctx: CallContext, orgId: string, to: 'past_due' | 'active'): Promise<Effect | null> {
    const org = await this.organizations.execute(ctx, orgId);
    const from = to === 'past_due' ? 'active' : 'past_due';
    return org.status === from ? null : { outcome: 'recorded', action: 'none', reason: `organization is ${org.status}: left as is` };
  }

  private alert(orgId: string, signal: VendorSignal, source: WebhookSource): void {
    this.alerts.inc({ source, kind: signal.kind });
    // Info, not warn: a vendor may send these by the hundred a second; the metric and the receipt are the alert.
    this.logger.log(`alert for organization ${orgId}: ${signal.eventType}`);
  }

  private async answer(receipt: Omit<NewReceipt, 'outcome' | 'action' | 'reason'>, effect: Effect): Promise<ReceiveAnswer> {
    const { id, outcome } = await this.record({ ...receipt, ...effect });
    return {
      received: true,
      receipt_id: id,
      delivery_id: receipt.deliveryId,
      outcome,
      action: outcome === 'duplicate' ? null : effect.action,
      reason: outcome === 'duplicate' && effect.outcome !== 'duplicate' ? 'processed concurrently by another request' : effect.reason,
    };
  }

  private async record(receipt: NewReceipt): Promise<{ id: string; outcome: ReceiptOutcome }> {
    const recorded = await this.receipts.record(receipt);
    this.received.inc({ source: receipt.source, outcome: recorded.outcome });
    return recorded;
  }

  private async customerOrgsOf(source: WebhookSource, environment: Environment, refs: string[]): Promise<string[]> {
    const key = `${source}\u0000${environment}\u0000${refs.join('\u0000')}`;
    const cached = this.customerOrgs.get(key);
    if (cached) return cached;
    const orgs = await this.receipts.findCustomerOrgs(source, environment, refs);
    if (orgs.length === 1) this.customerOrgs.set(key, orgs);
    return orgs;
  }
}
