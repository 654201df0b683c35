import { FieldError, fieldPath } from '@tollgate/platform/errors';

export const PAST_DUE_POLICIES = ['refuse', 'grace'] as const;
export type PastDuePolicy = (typeof PAST_DUE_POLICIES)[number];

/**
 * What a verified vendor webhook does to the organization (issue 13): each signal's possible
 * actions, the first being the default. `none` records the delivery and changes nothing.
 */
export const VENDOR_SIGNAL_ACTIONS = {
  /** Payment failed, invoice overdue: mark the organization past_due (admission then follows past_due_policy). */
  on_payment_failed: ['past_due', 'none'],
  /** Payment succeeded: a past_due organization is active again (a suspended one stays suspended). */
  on_payment_succeeded: ['active', 'none'],
  /** Credits granted or topped up at the vendor: the same amount granted here, once. */
  on_credits_granted: ['grant', 'none'],
  /** Wallet or credit balance low at the vendor: a Tollgate alert (metric, log, receipt). */
  on_balance_low: ['alert', 'none'],
  /** The vendor's spend threshold reached: an alert, or past_due. */
  on_spend_threshold: ['alert', 'past_due', 'none'],
} as const;
export type VendorSignalSetting = keyof typeof VENDOR_SIGNAL_ACTIONS;
export type VendorSignalAction = (typeof VENDOR_SIGNAL_ACTIONS)[VendorSignalSetting][number];

/**
 * Per organization and environment. Amounts are integer micro-credits. Every field has a
 * default, so a stored document holds only what was set and reads always see every field.
 */
export interface OrgSettings {
  /** A project or user seen for the first time is created under its parent's defaults. */
  auto_create: boolean;
  default_ttl_seconds: number;
  max_ttl_seconds: number;
  /** `past_due` organizations: refuse every admission, or allow up to `past_due_grace_amount`. */
  past_due_policy: PastDuePolicy;
  past_due_grace_amount: number;
  /** How far the organization's credit pool may go below zero. */
  overdraft_limit: number;
  /** Percentages of a limit at which a budget alert fires, ascending. */
  budget_alert_thresholds: number[];
  on_payment_failed: (typeof VENDOR_SIGNAL_ACTIONS)['on_payment_failed'][number];
  on_payment_succeeded: (typeof VENDOR_SIGNAL_ACTIONS)['on_payment_succeeded'][number];
  on_credits_granted: (typeof VENDOR_SIGNAL_ACTIONS)['on_credits_granted'][number];
  on_balance_low: (typeof VENDOR_SIGNAL_ACTIONS)['on_balance_low'][number];
  on_spend_threshold: (typeof VENDOR_SIGNAL_ACTIONS)['on_spend_threshold'][number];
}

export const DEFAULT_SETTINGS: Readonly<OrgSettings> = Object.freeze({
  auto_create: true,
  default_ttl_seconds: 900,
  max_ttl_seconds: 900,
  past_due_policy: 'refuse',
  past_due_grace_amount: 0,
  overdraft_limit: 0,
  budget_alert_thresholds: [80, 100],
  on_payment_failed: 'past_due',
  on_payment_succeeded: 'active',
  on_credits_granted: 'grant',
  on_balance_low: 'alert',
  on_spend_threshold: 'alert',
});

/** Settings that change what an organization may spend: only a platform key sets them. */
export const COMMERCIAL_SETTINGS: readonly (keyof OrgSettings)[] = [
  'overdraft_limit',
  'past_due_policy',
  'past_due_grace_amount',
  'on_payment_failed',
  'on_payment_succeeded',
  'on_credits_granted',
  'on_spend_threshold',
];

export const MAX_AMOUNT = Number.MAX_SAFE_INTEGER;

/**
 * Validates a full settings document; `maxTtlCeiling` is the deployment's MAX_TTL_SECONDS.
 * Fields are named under `prefix` (`settings.overdraft_limit`; `''` for the settings route).
 */
export function checkSettings(settings: OrgSettings, maxTtlCeiling: number, prefix = 'settings'): FieldError[] {
  const errors: FieldError[] = [];
  const at = (field: string) => fieldPath(prefix, field);
  // The same words as the DTOs' (wholeNumber, microCredits in the platform's validation).
  const int = (field: keyof OrgSettings, min: number, max: number, of?: string) => {
    const v = settings[field];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
      errors.push({ field: at(field), message: `${field} must be a whole number${of ? ` of ${of}` : ''} from ${min} to ${max}` });
    }
  };
  if (typeof settings.auto_create !== 'boolean') errors.push({ field: at('auto_create'), message: 'auto_create must be true or false' });
  int('max_ttl_seconds', 1, maxTtlCeiling);
  int('default_ttl_seconds', 1, maxTtlCeiling);
  if (errors.length === 0 && settings.default_ttl_seconds > settings.max_ttl_seconds) {
    errors.push({ field: at('default_ttl_seconds'), message: 'default_ttl_seconds must not exceed max_ttl_seconds' });
  }
  if (!PAST_DUE_POLICIES.includes(settings.past_due_policy)) {
    errors.push({ field: at('past_due_policy'), message: `past_due_policy must be one of ${PAST_DUE_POLICIES.join(', ')}` });
  }
  int('past_due_grace_amount', 0, MAX_AMOUNT, 'micro-credits');
  int('overdraft_limit', 0, MAX_AMOUNT, 'micro-credits');
  for (const [field, actions] of Object.entries(VENDOR_SIGNAL_ACTIONS) as [VendorSignalSetting, readonly string[]][]) {
    if (!actions.includes(settings[field])) {
      errors.push({ field: at(field), message: `${field} must be one of ${actions.join(', ')}` });
    }
  }
  const t = settings.budget_alert_thresholds;
  if (!Array.isArray(t) || t.length > 10 || !t.every((p, i) => Number.isInteger(p) && p >= 1 && p <= 100 && (i === 0 || p > t[i - 1]))) {
    errors.push({
      field: at('budget_alert_thresholds'),
      message: 'budget_alert_thresholds must be at most 10 ascending whole numbers from 1 to 100',
    });
  }
  return errors;
}

/** Drops fields a partial document leaves out (undefined), so they never hide stored values. */
export function definedSettings(patch: Partial<OrgSettings>): Partial<OrgSettings> {
  return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Partial<OrgSettings>;
}

export function mergeSettings(stored: Partial<OrgSettings>): OrgSettings {
  return {
    ...DEFAULT_SETTINGS,
    ...stored,
    budget_alert_thresholds: [...(stored.budget_alert_thresholds ?? DEFAULT_SETTINGS.budget_alert_thresholds)],
  };
}
