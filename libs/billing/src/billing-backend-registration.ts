import { Type } from '@nestjs/common';
import { BillingBackend } from './ports/billing-backend.port';

/**
 * How a backend joins Tollgate: its adapter folder exports one of these (its name, its Nest
 * module, the BillingBackend class that module exports), and billing-backends.ts lists it.
 */
export interface BillingBackendRegistration {
  /** What an organization's routing names; equal to the adapter's `name`. */
  name: string;
  module: Type<unknown>;
  backend: Type<BillingBackend>;
}
