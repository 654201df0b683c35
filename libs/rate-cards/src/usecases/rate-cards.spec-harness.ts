import type { TenancyConfig } from '@tollgate/config';
import { InProcessInvalidationBus } from '@tollgate/platform';
import { ManualClock } from '../../../testing/src/manual-clock';
import { CallContext, GetOrganizationUseCase, Organization, Principal, SCOPES } from '@tollgate/tenancy';
import { InMemoryRateCardRepository } from '../adapters/in-memory/in-memory-rate-card.repository';
import { AddRateOverridesUseCase } from './add-rate-overrides/add-rate-overrides.usecase';
import { AddRatesUseCase } from './add-rates/add-rates.usecase';
import { CreateRateCardUseCase } from './create-rate-card/create-rate-card.usecase';
import { PriceOperationUseCase } from './price-operation/price-operation.usecase';
import { RateCardCatalog } from './price-operation/rate-card-catalog';

/**
 * The rate-cards use cases wired as the module wires them, on the in-memory repository, the
 * in-process bus and tenancy's real organization cache over a map of organizations.
 * Not a spec itself: shared by the use-case specs.
 */
export function rateCardsHarness(start = new Date('2026-06-01T00:00:00Z')) {
  const repository = new InMemoryRateCardRepository();
  const bus = new InProcessInvalidationBus();
  const config = { settingsCacheMs: 30_000, maxTtlSeconds: 86_400 } as TenancyConfig;
  const clock = new ManualClock(start);
  const orgs = new Map<string, Organization>();
  const organizations = new GetOrganizationUseCase({ findById: async (id: string) => orgs.get(id) ?? null } as never, bus, config);
  organizations.onModuleInit();
  const catalog = new RateCardCatalog(repository, bus, config);
  catalog.onModuleInit();

  const platform: CallContext = { principal: new Principal('key_platform', 'platform', null, 'live', SCOPES), requestId: 'req-1' };
  const orgKey = (orgId: string): CallContext => ({
    principal: new Principal('key_org', 'org', orgId, 'live', ['quota:admin', 'read']),
    requestId: 'req-2',
  });

  /** Assigns (or unassigns) a card the way PATCH /v1/orgs does: stored, then broadcast. */
  async function putOrg(id: string, rateCardId: string | null): Promise<string> {
    const now = clock.now();
    orgs.set(id, {
      id,
      name: id,
      status: 'active',
      statusChangedAt: now,
      rateCardId,
      overagePolicy: 'cap_at_hold',
      overagePercent: null,
      createdAt: now,
      updatedAt: now,
    });
    await organizations.invalidate(id);
    return id;
  }

  return {
    repository,
    bus,
    clock,
    catalog,
    platform,
    orgKey,
    putOrg,
    createRateCard: new CreateRateCardUseCase(repository, catalog, clock),
    addRates: new AddRatesUseCase(repository, catalog, clock),
    addOverrides: new AddRateOverridesUseCase(repository, organizations, catalog, clock),
    pricing: new PriceOperationUseCase(organizations, catalog),
  };
}

export const VIDEO_RATES = [
  { product: 'video.generate', dimension: 'video_seconds', model: 'flat', unit_price: '0.2' },
  { product: 'video.generate', dimension: 'video_seconds', match: { resolution: '1080p' }, model: 'flat', unit_price: '0.3' },
  { product: 'video.fast', dimension: 'video_seconds', model: 'flat', unit_price: '0.1' },
];
