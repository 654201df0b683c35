import Decimal from 'decimal.js';

export const WEBHOOK_SOURCES = ['flexprice', 'metronome'] as const;
export type WebhookSource = (typeof WEBHOOK_SOURCES)[number];

/**
 * What a vendor delivery means to Tollgate, whatever its vendor shape (VENDORS.md F3, M3):
 * - `payment_failed`: payment failed, invoice overdue, payment gate failed;
 * - `payment_succeeded`: payment succeeded, payment gate paid;
 * - `balance_low`: a wallet / credit / commit balance alert;
 * - `credits_granted`: credits granted or topped up (with the amount, when the payload says it);
 * - `invoice_finalized`, `spend_threshold`: as named;
 * - `other`: recorded and acknowledged, nothing else.
 */
export type SignalKind =
  'payment_failed' | 'payment_succeeded' | 'balance_low' | 'credits_granted' | 'invoice_finalized' | 'spend_threshold' | 'other';

export interface CreditGrantSignal {
  /** Derived from the vendor's transaction / credit id: the same top-up grants once, whatever delivers it. */
  grantId: string;
  /** Micro-credits (1 vendor credit = 1 Tollgate credit = 1,000,000 micro-credits). */
  amount: number;
  expiresAt: Date | null;
  reason: string;
}

export interface VendorSignal {
  kind: SignalKind;
  /** The vendor's event name (Flexprice `event_type`, inferred by shape when absent; Metronome `type`). */
  eventType: string;
  /** Ids that may name the customer, most specific first: vendor customer ids and external ids. */
  customerRefs: string[];
  /** Set for `credits_granted` when the payload carries an amount; null: recorded, nothing granted. */
  grant: CreditGrantSignal | null;
  /** Why a signal that would act cannot (no customer, no amount): recorded as the receipt's reason. */
  note: string | null;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 && v.length <= 256 ? v : null);
const obj = (v: unknown): Json => (isObject(v) ? v : {});

/** Every distinct non-empty string of the candidates, in order. */
function refs(...candidates: unknown[]): string[] {
  return [...new Set(candidates.map(str).filter((v): v is string => v !== null))];
}

const MICRO = new Decimal(1_000_000);

/** A vendor's decimal credit amount as whole micro-credits (rounded down: never grant more than was bought), or null. */
export function creditsToMicro(value: unknown): number | null {
  const text = typeof value === 'number' ? String(value) : str(value);
  if (text === null || !/^\d{1,15}(\.\d{1,18})?$/.test(text)) return null;
  const micro = new Decimal(text).mul(MICRO).floor();
  if (micro.lte(0) || micro.gt(Number.MAX_SAFE_INTEGER)) return null;
  return micro.toNumber();
}

function instant(value: unknown): Date | null {
  const text = str(value);
  if (!text) return null;
  const at = new Date(text);
  return Number.isNaN(at.getTime()) ? null : at;
}

const FLEXPRICE_GRANT_REASONS = new Set([
  'FREE_CREDIT_GRANT',
  'SUBSCRIPTION_CREDIT_GRANT',
  'PURCHASED_CREDIT_INVOICED',
  'PURCHASED_CREDIT_DIRECT',
  'PURCHASED_CREDIT_BONUS',
]);

/**
 * A Flexprice webhook body (the flat builder output, VENDORS.md F3): `{event_type, <entity>: {...}}`,
 * except spend-threshold and grant-exhausted alerts, which carry no `event_type` in native mode
 * and are told apart by shape (`alert_type`).
 */
export function classifyFlexprice(body: Json): VendorSignal {
  const alertType = str(body.alert_type);
  const eventType =
    str(body.event_type) ??
    (alertType?.startsWith('subscription_') && alertType.endsWith('spend')
      ? `${alertType.replace('subscription_', 'subscription.')}.${str(body.alert_status) === 'ok' ? 'threshold_recovered' : 'threshold_reached'}`
      : alertType === 'entitlement_grant_exhausted'
        ? 'entitlement.grant.exhausted'
        : alertType === 'feature_wallet_balance'
          ? 'feature.wallet_balance.alert'
          : 'unknown');
  const invoice = obj(body.invoice);
  const payment = obj(body.payment);
  const wallet = obj(body.wallet);
  const subscription = obj(body.subscription);
  const customer = obj(body.customer);
  const customerRefs = refs(
    body.customer_id,
    customer.id,
    customer.external_id,
    invoice.customer_id,
    obj(invoice.customer).external_id,
    payment.customer_id,
    obj(payment.invoice).customer_id,
    wallet.customer_id,
    obj(wallet.customer).external_id,
    subscription.customer_id,
    obj(body.transaction).customer_id,
    obj(body.updated_transaction).customer_id,
  );
  const base = { eventType, customerRefs, grant: null, note: null };

  switch (eventType) {
    case 'payment.failed':
    case 'invoice.payment.overdue':
      return { ...base, kind: 'payment_failed' };
    case 'payment.success':
      return { ...base, kind: 'payment_succeeded' };
    case 'invoice.update.finalized':
      return { ...base, kind: 'invoice_finalized' };
    case 'wallet.credit_balance.dropped':
    case 'wallet.ongoing_balance.dropped':
      return { ...base, kind: 'balance_low' };
    case 'feature.wallet_balance.alert':
      return { ...base, kind: str(body.alert_status) === 'in_alarm' ? 'balance_low' : 'other' };
    case 'wallet.transaction.created':
    case 'wallet.transaction.updated': {
      const txn = obj(eventType === 'wallet.transaction.created' ? body.transaction : body.updated_transaction);
      const reason = str(txn.transaction_reason);
      if (str(txn.type) !== 'credit' || !reason || !FLEXPRICE_GRANT_REASONS.has(reason)) return { ...base, kind: 'other' };
      if (str(txn.transaction_status) !== 'completed') return { ...base, kind: 'other', note: 'credit transaction not completed yet' };
      const id = str(txn.id);
      const amount = creditsToMicro(txn.credit_amount ?? txn.amount);
      if (!id || amount === null) return { ...base, kind: 'credits_granted', note: 'no transaction id or credit amount in the payload' };
      return {
        ...base,
        kind: 'credits_granted',
        grant: { grantId: `flexprice:${id}`, amount, expiresAt: instant(txn.expiry_date), reason: `Flexprice ${reason.toLowerCase()}` },
      };
    }
    default:
      if (eventType.endsWith('spend.threshold_reached')) return { ...base, kind: 'spend_threshold' };
      return { ...base, kind: 'other' };
  }
}

/**
 * A Metronome notification `{id, type, properties?}` (VENDORS.md M3). System notifications
 * (contract.*, commit.*, credit.*) carry no `properties`: recorded, and a credit grant without
 * an amount grants nothing (the note says so).
 */
export function classifyMetronome(body: Json): VendorSignal {
  const eventType = str(body.type) ?? 'unknown';
  const props = obj(body.properties);
  const customerRefs = refs(props.customer_id, body.customer_id);
  const base = { eventType, customerRefs, grant: null, note: null };
  if (eventType === 'payment_gate.payment_status') {
    const status = str(props.payment_status);
    if (status === 'failed') return { ...base, kind: 'payment_failed' };
    if (status === 'paid') return { ...base, kind: 'payment_succeeded' };
    return { ...base, kind: 'other' };
  }
  if (eventType === 'invoice.finalized') return { ...base, kind: 'invoice_finalized' };
  if (eventType.startsWith('alerts.')) {
    const alert = eventType.slice('alerts.'.length);
    if (alert.startsWith('low_')) return { ...base, kind: 'balance_low' };
    if (alert === 'spend_threshold_reached' || alert === 'invoice_total_reached') return { ...base, kind: 'spend_threshold' };
    return { ...base, kind: 'other' };
  }
  if (eventType === 'credit.create' || eventType === 'commit.create') {
    const id = str(props.id) ?? str(props.credit_id) ?? str(props.commit_id);
    const amount = creditsToMicro(props.amount ?? obj(props.access_schedule).amount);
    if (!id || amount === null) return { ...base, kind: 'credits_granted', note: 'no credit id or amount in the notification' };
    return {
      ...base,
      kind: 'credits_granted',
      grant: { grantId: `metronome:${id}`, amount, expiresAt: instant(props.ending_before), reason: `Metronome ${eventType}` },
    };
  }
  return { ...base, kind: 'other' };
}
