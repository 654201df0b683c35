import { loadConfig } from '@tollgate/config';
import { billingBackendContract } from '../../../../testing/contracts/billing-backend.contract';
import { FAKE_FLEXPRICE_KEYS, FakeFlexprice } from '../../../../testing/src/fakes/fake-flexprice';
import { FlexpriceBillingBackend } from './flexprice-billing-backend.adapter';

billingBackendContract('flexprice (official SDK, against the fake)', async () => {
  const fake = new FakeFlexprice();
  const url = await fake.start();
  const config = loadConfig({
    FLEXPRICE_BASE_URL: `${url}/v1`,
    FLEXPRICE_API_KEY: FAKE_FLEXPRICE_KEYS.live,
    FLEXPRICE_BASE_URL_TEST: `${url}/v1`,
    FLEXPRICE_API_KEY_TEST: FAKE_FLEXPRICE_KEYS.test,
    BILLING_VENDOR_TIMEOUT_MS: '1000',
  }).billing;
  return {
    fake,
    backend: (overrides = {}) => new FlexpriceBillingBackend(Object.assign(Object.create(config) as typeof config, config, overrides)),
    testKey: { field: 'flexpriceApiKeyTest', variable: 'FLEXPRICE_API_KEY_TEST' },
    liveKeyField: 'flexpriceApiKey',
    stop: () => fake.stop(),
  };
});
