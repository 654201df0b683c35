export * from './tenancy.module';
export * from './domain/access';
export * from './domain/call-context';
export * from './domain/organization';
export * from './domain/org-settings';
export * from './domain/tenancy.error';
export { RateCardDirectory } from './ports/rate-card-directory.port';
export { TENANCY_ENTITIES } from './adapters/mikro-orm/tenancy.entities';
export { Caller, RequireScopes } from './http/auth.decorators';
export { GetOrganizationUseCase, ORGANIZATION_TOPIC } from './usecases/get-organization/get-organization.usecase';
export { GetOrgSettingsUseCase, SETTINGS_TOPIC } from './usecases/get-org-settings/get-org-settings.usecase';
export { RegisterPlatformKeyUseCase } from './usecases/register-platform-key/register-platform-key.usecase';
export { auditRecord } from './domain/audit-entry';
export type { AuditChange, AuditRecord, AuditScope } from './domain/audit-entry';
/** Appends an audit entry inside another module's transaction (the audit log is tenancy's). */
export { persistAudit as appendAuditEntry } from './adapters/mikro-orm/audit-rows';
export { OrgPathDto } from './http/tenancy.dto';
export { KeyRateLimiter } from './domain/rate-limit';
export { UpdateOrganizationUseCase } from './usecases/update-organization/update-organization.usecase';
