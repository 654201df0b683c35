import type { SignalKind, WebhookSource } from './vendor-signal';

/**
 * What became of one inbound delivery:
 * - `applied`: it changed something (a status, a grant, an alert raised);
 * - `recorded`: understood, and there was nothing to change (an invoice finalized, an action set to
 *   none, a status already so, a type Tollgate does not act on);
 * - `ignored`: verified but unusable (not JSON, no id);
 * - `unknown_customer`: no organization has that vendor customer in that environment;
 * - `duplicate`: its delivery id was processed before (no second effect);
 * - `refused`: the signature, secret or timestamp did not verify (answered 401);
 * - `failed`: processing failed (answered 5xx, so the vendor delivers it again).
 */
export const RECEIPT_OUTCOMES = ['applied', 'recorded', 'ignored', 'unknown_customer', 'duplicate', 'refused', 'failed'] as const;
export type ReceiptOutcome = (typeof RECEIPT_OUTCOMES)[number];

/** What Tollgate did about a delivery. */
export type ReceiptAction = 'past_due' | 'active' | 'credit_grant' | 'alert' | 'none';

/** JSON text kept as received (a verified body), stored without being parsed and serialized again. */
export class RawJson {
  constructor(readonly text: string) {}
}

export interface NewReceipt {
  source: WebhookSource;
  deliveryId: string | null;
  environment: 'live' | 'test' | null;
  orgId: string | null;
  eventType: string | null;
  kind: SignalKind | null;
  outcome: ReceiptOutcome;
  reason: string | null;
  action: ReceiptAction | null;
  remoteIp: string | null;
  bodySha256: string;
  /** The parsed body of a verified delivery (never of a refused one: unauthenticated bytes are not kept). */
  payload: unknown;
}

export interface WebhookReceipt extends NewReceipt {
  id: string;
  receivedAt: Date;
}
