import { BillingEnvironment } from './billable-event';

/** `none`: events are recorded and nothing is sent (every organization's default). */
export const NO_BACKEND = 'none';

export interface BillingRoute {
  backend: string;
  /** Receives every event too, independently; never authoritative. */
  shadow: string | null;
  /** Events recorded at or after this instant follow this route; null for the default (none, since always). */
  effectiveFrom: Date | null;
}

export interface OrgBillingRouting {
  orgId: string;
  environment: BillingEnvironment;
  /** The route in force now. */
  current: BillingRoute;
  /** A change scheduled for a later instant (the next billing period), if any. */
  scheduled: BillingRoute | null;
  /** Vendor customer per backend (what events name the customer by). */
  customers: Record<string, { customerId: string; alias: string }>;
}

export const DEFAULT_ROUTE: BillingRoute = { backend: NO_BACKEND, shadow: null, effectiveFrom: null };

/** What is wrong with a requested route (field, message), or nothing. */
export function routeProblems(backend: string, shadow: string | null, known: readonly string[]): { field: string; message: string }[] {
  const problems: { field: string; message: string }[] = [];
  const choices = [NO_BACKEND, ...known];
  if (!choices.includes(backend)) problems.push({ field: 'backend', message: `must be one of ${choices.join(', ')}` });
  if (shadow !== null) {
    if (!known.includes(shadow)) problems.push({ field: 'shadow', message: `must be one of ${known.join(', ')} or null` });
    else if (shadow === backend) problems.push({ field: 'shadow', message: 'must differ from backend' });
    else if (backend === NO_BACKEND) problems.push({ field: 'shadow', message: 'backend none has no shadow' });
  }
  return problems;
}

/** The start of the UTC calendar month after `now`: billing periods are calendar months (decision 025). */
export function nextPeriodStart(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
}

/**
 * When a failed delivery is tried again: exponential backoff with full jitter (so instances
 * retrying one outage spread out), never sooner than the vendor's Retry-After.
 */
export function retryDelayMs(
  attempts: number,
  baseMs: number,
  maxMs: number,
  retryAfterMs: number | undefined,
  random = Math.random,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(30, Math.max(0, attempts - 1)));
  const backoff = Math.max(baseMs / 2, Math.floor(random() * ceiling));
  return Math.max(backoff, retryAfterMs ?? 0);
}
