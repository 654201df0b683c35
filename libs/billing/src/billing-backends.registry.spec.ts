import { loadConfig } from '@tollgate/config';
import { FlexpriceBillingBackend } from './adapters/flexprice/flexprice-billing-backend.adapter';
import { MetronomeBillingBackend } from './adapters/metronome/metronome-billing-backend.adapter';
import { BillingBackends } from './billing-backends.registry';

function registry(env: Record<string, string>): BillingBackends {
  const config = loadConfig(env).billing;
  return new BillingBackends([new FlexpriceBillingBackend(config), new MetronomeBillingBackend(config)]);
}

describe('BillingBackends', () => {
  it('with no vendor configured, lists every backend as not configured, naming the variable to set', () => {
    const sut = registry({});

    expect(sut.configuration('live')).toEqual([
      { name: 'flexprice', configured: false, missing: ['FLEXPRICE_API_KEY'] },
      { name: 'metronome', configured: false, missing: ['METRONOME_BEARER_TOKEN'] },
    ]);
    expect(sut.configuration('test')).toEqual([
      { name: 'flexprice', configured: false, missing: ['FLEXPRICE_API_KEY_TEST'] },
      { name: 'metronome', configured: false, missing: ['METRONOME_BEARER_TOKEN_TEST'] },
    ]);
  });

  it('is configured per environment: a live key does not configure test', () => {
    const sut = registry({ FLEXPRICE_API_KEY: 'fp_live_key_1', METRONOME_BEARER_TOKEN_TEST: 'mn_test_token' });

    expect(sut.requireConfigured('flexprice', 'live').name).toBe('flexprice');
    expect(sut.requireConfigured('metronome', 'test').name).toBe('metronome');
    expect(() => sut.requireConfigured('flexprice', 'test')).toThrow(
      expect.objectContaining({
        code: 'billing_backend_not_configured',
        extensions: expect.objectContaining({ missing: ['FLEXPRICE_API_KEY_TEST'] }),
      }),
    );
  });

  it('refuses a backend it does not know, and a second backend under a taken name', () => {
    const sut = registry({});
    const config = loadConfig({}).billing;

    expect(() => sut.get('stripe')).toThrow(expect.objectContaining({ code: 'unknown_billing_backend' }));
    expect(sut.names()).toEqual(['flexprice', 'metronome']);
    expect(() => new BillingBackends([new FlexpriceBillingBackend(config), new FlexpriceBillingBackend(config)])).toThrow(/taken/);
  });
});
