import { loadConfig } from '@tollgate/config';
import { billingBackendContract } from '../../../../testing/contracts/billing-backend.contract';
import { FAKE_METRONOME_TOKENS, FakeMetronome } from '../../../../testing/src/fakes/fake-metronome';
import { MetronomeBillingBackend } from './metronome-billing-backend.adapter';

billingBackendContract('metronome (official SDK, against the fake)', async () => {
  const fake = new FakeMetronome();
  const url = await fake.start();
  const config = loadConfig({
    METRONOME_BASE_URL: url,
    METRONOME_BEARER_TOKEN: FAKE_METRONOME_TOKENS.live,
    METRONOME_BASE_URL_TEST: url,
    METRONOME_BEARER_TOKEN_TEST: FAKE_METRONOME_TOKENS.test,
    BILLING_VENDOR_TIMEOUT_MS: '1000',
  }).billing;
  return {
    fake,
    backend: (overrides = {}) => new MetronomeBillingBackend(Object.assign(Object.create(config) as typeof config, config, overrides)),
    testKey: { field: 'metronomeBearerTokenTest', variable: 'METRONOME_BEARER_TOKEN_TEST' },
    liveKeyField: 'metronomeBearerToken',
    stop: () => fake.stop(),
  };
});
