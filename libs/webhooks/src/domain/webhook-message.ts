import { randomBytes } from 'node:crypto';

export const OUTBOUND_EVENT_TYPES = [
  'budget.threshold_reached',
  'org.status_changed',
  'credits.granted',
  'reservation.expired',
  'billing.delivery_dead',
] as const;

export const MAX_ENDPOINTS_PER_ORG = 20;
/** How long the replaced secret still signs after a rotation. */
export const SECRET_OVERLAP_MS = 24 * 3_600_000;
export const USER_AGENT = 'Tollgate-Webhooks/1';

/** A new signing secret: `whsec_` + base64 of 24 random bytes (the Standard Webhooks format). */
export function generateSecret(): string {
  return 'whsec_' + randomBytes(24).toString('base64');
}

export interface OutboundEvent {
  id: string;
  type: string;
  orgId: string;
  environment: 'live' | 'test';
  data: Record<string, unknown>;
  occurredAt: Date;
}

/**
 * The body sent for an event, per the Standard Webhooks convention: the same bytes on every
 * attempt and to every endpoint (only the headers' timestamp and signature change).
 */
export function webhookBody(event: OutboundEvent): string {
  return JSON.stringify({
    id: event.id,
    type: event.type,
    timestamp: event.occurredAt.toISOString(),
    org_id: event.orgId,
    environment: event.environment,
    data: event.data,
  });
}

/** The secrets that sign now: the current one, and the replaced one until its overlap ends. */
export function signingSecrets(
  endpoint: { secret: string; previousSecret: string | null; previousSecretExpiresAt: Date | null },
  now: Date,
): string[] {
  const previousLive = endpoint.previousSecret && endpoint.previousSecretExpiresAt && endpoint.previousSecretExpiresAt > now;
  return previousLive ? [endpoint.secret, endpoint.previousSecret!] : [endpoint.secret];
}
