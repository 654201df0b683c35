import { Environment } from './access';

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
