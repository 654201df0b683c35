import { FieldError } from '@tollgate/platform/errors';

export const ORG_STATUSES = ['active', 'suspended', 'past_due'] as const;
export type OrgStatus = (typeof ORG_STATUSES)[number];

export const OVERAGE_POLICIES = ['allow', 'cap_at_hold', 'allow_up_to_percent'] as const;
export type OveragePolicy = (typeof OVERAGE_POLICIES)[number];

export interface Organization {
  id: string;
  name: string;
  status: OrgStatus;
  /** When `status` last changed (creation at first): a past_due grace counts spend from here. */
  statusChangedAt: Date;
  rateCardId: string | null;
  /** What a commit above its hold may charge; `cap_at_hold` never overdraws. */
  overagePolicy: OveragePolicy;
  /** For `allow_up_to_percent`: how far above the hold, in percent of the hold. */
  overagePercent: number | null;
  createdAt: Date;
  updatedAt: Date;
}

export type OrganizationPatch = Partial<Pick<Organization, 'name' | 'status' | 'rateCardId' | 'overagePolicy' | 'overagePercent'>>;

/** Fields that change what an organization is allowed or charged: only a platform key sets them. */
export const COMMERCIAL_ORG_FIELDS = ['status', 'rateCardId', 'overagePolicy', 'overagePercent'] as const;

/** Checks rules that span fields; returns the problems (empty when the organization is valid). */
export function checkOrganization(org: Pick<Organization, 'overagePolicy' | 'overagePercent'>): FieldError[] {
  if (org.overagePolicy === 'allow_up_to_percent' && org.overagePercent === null) {
    return [{ field: 'overage_percent', message: 'overage_percent is required when overage_policy is allow_up_to_percent' }];
  }
  if (org.overagePolicy !== 'allow_up_to_percent' && org.overagePercent !== null) {
    return [{ field: 'overage_percent', message: 'overage_percent applies only to overage_policy allow_up_to_percent' }];
  }
  return [];
}

export function applyOrganizationPatch(org: Organization, patch: OrganizationPatch, now: Date): Organization {
  const next = { ...org, ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)), updatedAt: now };
  if (next.status !== org.status) next.statusChangedAt = now;
  // Switching away from allow_up_to_percent drops its percentage rather than failing.
  if (patch.overagePolicy && patch.overagePolicy !== 'allow_up_to_percent' && patch.overagePercent === undefined) {
    next.overagePercent = null;
  }
  return next;
}

/** The form an organization takes in the audit log (as clients see it). */
export function snapshotOrganization(org: Organization): Record<string, unknown> {
  return {
    id: org.id,
    name: org.name,
    status: org.status,
    rate_card_id: org.rateCardId,
    overage_policy: org.overagePolicy,
    overage_percent: org.overagePercent,
  };
}
