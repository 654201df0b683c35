import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { TenancyConfig } from '@tollgate/config';
import { InvalidationBus, RefreshingCache } from '@tollgate/platform';
import { DowngradeLadder } from '../../domain/downgrade';
import { Rate, RateOverride } from '../../domain/rate';
import { RateCardRepository } from '../../ports/rate-card.repository.port';

/** Bus topics: the key is a rate card id, or an organization id for its overrides. */
export const RATE_CARD_TOPIC = 'rate-cards';
export const RATE_OVERRIDES_TOPIC = 'rate-overrides';

/** A card as pricing reads it: indexed by product, frozen (shared by every request). */
export interface PricingCard {
  readonly id: string;
  readonly ratesByProduct: ReadonlyMap<string, readonly Rate[]>;
  readonly ladders: ReadonlyMap<string, DowngradeLadder>;
}

export type OverridesByProduct = ReadonlyMap<string, readonly RateOverride[]>;

const NO_OVERRIDES: OverridesByProduct = new Map();

function groupByProduct<T extends { product: string }>(items: readonly T[]): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const group = groups.get(item.product);
    if (group) group.push(deepFreeze(item));
    else groups.set(item.product, [deepFreeze(item)]);
  }
  return groups;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !(value instanceof Date) && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/**
 * The in-process read model pricing runs on: whole cards (rates and ladders) by id, and each
 * organization's overrides. Warm, it answers without any I/O; every write publishes the card or
 * organization on the invalidation bus and every instance drops its copy, so the next price
 * reads the change. Entries are also refreshed in the background every SETTINGS_CACHE_MS,
 * which bounds how long a lost message leaves an instance stale.
 */
@Injectable()
export class RateCardCatalog implements OnModuleInit {
  private readonly logger = new Logger('RateCards');
  private readonly cards: RefreshingCache<PricingCard | null>;
  private readonly overrides: RefreshingCache<OverridesByProduct>;

  constructor(
    private readonly repository: RateCardRepository,
    private readonly bus: InvalidationBus,
    config: TenancyConfig,
  ) {
    const warn = (what: string) => (key: string, error: unknown) =>
      this.logger.warn(`could not refresh ${what} ${key}, still serving the cached copy: ${(error as Error)?.message ?? String(error)}`);
    this.cards = new RefreshingCache(config.settingsCacheMs, warn('rate card'));
    this.overrides = new RefreshingCache(config.settingsCacheMs, warn('overrides of'));
  }

  onModuleInit(): void {
    this.bus.subscribe(RATE_CARD_TOPIC, (id) => this.cards.invalidate(id));
    this.bus.subscribe(RATE_OVERRIDES_TOPIC, (orgId) => this.overrides.invalidate(orgId));
  }

  /** The card, or null when no card has this id (a miss is cached too; creating the card publishes its id). */
  card(id: string): Promise<PricingCard | null> {
    return this.cards.get(id, async () => {
      const card = await this.repository.findCard(id);
      if (!card) return null;
      return Object.freeze({
        id: card.id,
        ratesByProduct: groupByProduct(card.rates),
        ladders: new Map(card.ladders.map((l) => [l.product, deepFreeze({ product: l.product, ladder: l.ladder })])),
      });
    });
  }

  organizationOverrides(orgId: string): Promise<OverridesByProduct> {
    return this.overrides.get(orgId, async () => {
      const overrides = await this.repository.listOverrides(orgId);
      return overrides.length === 0 ? NO_OVERRIDES : groupByProduct(overrides);
    });
  }

  async cardChanged(id: string): Promise<void> {
    await this.bus.publish(RATE_CARD_TOPIC, id);
  }

  async overridesChanged(orgId: string): Promise<void> {
    await this.bus.publish(RATE_OVERRIDES_TOPIC, orgId);
  }
}
