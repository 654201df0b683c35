import { Period } from './period';
import { QuotaEnvironment } from './quota';

/** A project's envelope inside its organization's pool, and the cap of users without their own. */
export interface Project {
  orgId: string;
  environment: QuotaEnvironment;
  id: string;
  name: string | null;
  limit: number | null;
  period: Period;
  defaultUserLimit: number | null;
  defaultUserPeriod: Period;
  createdAt: Date;
  updatedAt: Date;
}

/** A user with a cap of their own (users without one follow their project's default). */
export interface ProjectUser {
  orgId: string;
  environment: QuotaEnvironment;
  projectId: string;
  id: string;
  limit: number | null;
  period: Period;
  createdAt: Date;
  updatedAt: Date;
}

export interface CreditGrant {
  id: string;
  orgId: string;
  environment: QuotaEnvironment;
  amount: number;
  reason: string;
  source: string | null;
  expiresAt: Date | null;
  createdAt: Date;
}
