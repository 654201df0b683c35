import { BillingEnvironment } from './domain/billable-event';
import { BillingError } from './domain/billing.error';
import { BillingBackend } from './ports/billing-backend.port';

export interface BackendConfiguration {
  name: string;
  configured: boolean;
  /** The variables to set for this environment; empty when configured. */
  missing: string[];
}

/** The backends of this process by name, and what each lacks per environment. */
export class BillingBackends {
  private readonly byName: ReadonlyMap<string, BillingBackend>;

  constructor(backends: readonly BillingBackend[]) {
    const byName = new Map<string, BillingBackend>();
    for (const backend of backends) {
      // `none` is the routing's "record, send nothing"; a backend must not take that name.
      if (backend.name === 'none' || byName.has(backend.name)) throw new Error(`billing backend name ${backend.name} is taken`);
      byName.set(backend.name, backend);
    }
    this.byName = byName;
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  /** Throws `unknown_billing_backend`. */
  get(name: string): BillingBackend {
    const backend = this.byName.get(name);
    if (!backend) {
      throw new BillingError('unknown_billing_backend', `Unknown billing backend ${name}: one of ${this.names().join(', ')}.`, {
        backend: name,
        known: this.names(),
      });
    }
    return backend;
  }

  configuration(environment: BillingEnvironment): BackendConfiguration[] {
    return [...this.byName.values()].map((backend) => {
      const missing = backend.missingConfiguration(environment);
      return { name: backend.name, configured: missing.length === 0, missing };
    });
  }

  /** The backend, if it can be chosen for the environment; otherwise `billing_backend_not_configured` naming what is missing. */
  requireConfigured(name: string, environment: BillingEnvironment): BillingBackend {
    const backend = this.get(name);
    const missing = backend.missingConfiguration(environment);
    if (missing.length > 0) throw BillingError.notConfigured(name, environment, missing);
    return backend;
  }
}
