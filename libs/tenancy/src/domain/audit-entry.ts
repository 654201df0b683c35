import { Environment } from './access';
import { CallContext } from './call-context';

export interface AuditRecord {
  orgId: string | null;
  /** Null for a change that is not per environment (the organization itself, keys' lifecycle). */
  environment: Environment | null;
  actor: string;
  action: string;
  resourceType: string;
  resourceId: string;
  before: unknown;
  after: unknown;
  requestId: string | null;
}

export interface AuditEntry extends AuditRecord {
  id: string;
  seq: number;
  createdAt: Date;
}

/**
 * Where a change belongs: its organization (null for platform-wide catalog objects such as rate
 * cards) and environment (null for what is not per environment). Stated by every caller, never
 * taken from the key: a platform key acts on either environment, and an organization's own
 * record belongs to none.
 */
export interface AuditScope {
  orgId: string | null;
  environment: Environment | null;
}

/** What changed. `before` / `after` may be left to the writer when only it sees them (the locked settings row). */
export interface AuditChange {
  action: string;
  resourceType: string;
  resourceId: string;
  before?: unknown;
  after?: unknown;
}

/**
 * The one way a use case builds an audit record: the call context names the actor and the
 * request, the caller says where the change belongs and what it was.
 */
export function auditRecord<C extends AuditChange>(
  ctx: CallContext,
  scope: AuditScope,
  change: C,
): Omit<AuditRecord, keyof AuditChange> & C {
  return {
    orgId: scope.orgId,
    environment: scope.environment,
    actor: ctx.principal.actor,
    ...change,
    requestId: ctx.requestId,
  };
}
