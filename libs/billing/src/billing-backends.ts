import { FLEXPRICE_BACKEND } from './adapters/flexprice/flexprice.module';
import { METRONOME_BACKEND } from './adapters/metronome/metronome.module';
import { BillingBackendRegistration } from './billing-backend-registration';

/**
 * Every billing backend Tollgate can route to: one line each. A new vendor is an adapter
 * folder that passes the contract suite, plus its line here (docs/billing-backends.md).
 */
export const BILLING_BACKENDS: readonly BillingBackendRegistration[] = [FLEXPRICE_BACKEND, METRONOME_BACKEND];
