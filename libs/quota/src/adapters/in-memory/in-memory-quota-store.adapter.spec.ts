import { quotaStoreContract } from '../../../../testing/contracts/quota-store.contract';
import { InMemoryQuotaStore } from './in-memory-quota-store.adapter';

quotaStoreContract('in-memory', async () => {
  const store = new InMemoryQuotaStore();
  return { store, cleanup: async () => undefined, forget: (scope) => store.unload(scope) };
});
