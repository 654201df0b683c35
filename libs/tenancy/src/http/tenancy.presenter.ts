import { ApiKey } from '../domain/api-key';
import { AuditEntry } from '../domain/audit-entry';
import { Environment } from '../domain/access';
import { Organization } from '../domain/organization';
import { OrgSettings } from '../domain/org-settings';

export function presentOrganization(org: Organization, settings: OrgSettings, environment: Environment) {
  return {
    id: org.id,
    name: org.name,
    status: org.status,
    status_changed_at: org.statusChangedAt.toISOString(),
    rate_card_id: org.rateCardId,
    overage_policy: org.overagePolicy,
    overage_percent: org.overagePercent,
    environment,
    settings,
    created_at: org.createdAt.toISOString(),
    updated_at: org.updatedAt.toISOString(),
  };
}

export function presentOrganizationSummary(org: Organization) {
  return {
    id: org.id,
    name: org.name,
    status: org.status,
    status_changed_at: org.statusChangedAt.toISOString(),
    rate_card_id: org.rateCardId,
    overage_policy: org.overagePolicy,
    overage_percent: org.overagePercent,
    created_at: org.createdAt.toISOString(),
    updated_at: org.updatedAt.toISOString(),
  };
}

export function presentApiKey(key: ApiKey) {
  return {
    id: key.id,
    kind: key.kind,
    org_id: key.orgId,
    environment: key.environment,
    scopes: key.scopes,
    name: key.name,
    prefix: key.prefix,
    created_at: key.createdAt.toISOString(),
  };
}

/** Snapshots in the log are stored as written; dates inside them are already ISO strings. */
export function presentAuditEntry(entry: AuditEntry) {
  return {
    id: entry.id,
    org_id: entry.orgId,
    environment: entry.environment,
    actor: entry.actor,
    action: entry.action,
    resource_type: entry.resourceType,
    resource_id: entry.resourceId,
    before: entry.before,
    after: entry.after,
    request_id: entry.requestId,
    created_at: entry.createdAt.toISOString(),
  };
}
