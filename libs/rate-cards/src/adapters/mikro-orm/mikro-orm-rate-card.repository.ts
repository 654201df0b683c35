import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { appendAuditEntry, AuditRecord } from '@tollgate/tenancy';
import { LadderStep } from '../../domain/downgrade';
import { PriceSpec, RateModel, RateTier, TierScope } from '../../domain/rate';
import { LadderRecord, OverrideRecord, RateCard, RateCardSummary, RateRecord } from '../../domain/rate-card';
import { CardChange, OverridesChange, RateCardRepository } from '../../ports/rate-card.repository.port';

/** Namespace of the overrides' advisory locks (two-key form: apart from single-key locks). */
const OVERRIDES_LOCK_CLASS = 7432;

interface CardRow {
  id: string;
  name: string;
  created_at: Date | string;
  updated_at: Date | string;
}

interface PriceRow {
  id: string;
  product: string;
  dimension: string;
  match: Record<string, string>;
  model: string;
  unit_price: string | null;
  package_size: string | null;
  tiers: RateTier[] | null;
  tier_scope: string;
  starting_at: Date | string | null;
  ending_before: Date | string | null;
  created_at: Date | string;
}

interface LadderRow {
  product: string;
  ladder: LadderStep[];
  created_at: Date | string;
  updated_at: Date | string;
}

const PRICE_COLUMNS =
  'id, product, dimension, match, model, unit_price, package_size, tiers, tier_scope, starting_at, ending_before, created_at';

/** Raw queries return timestamptz as text (MikroORM's driver leaves date parsing to its mappers). */
function date(value: Date | string): Date;
function date(value: Date | string | null): Date | null;
function date(value: Date | string | null): Date | null {
  return value === null ? null : new Date(value);
}

/** jsonb may arrive as text, depending on the driver's parsers. */
function json<T>(value: T | string): T {
  return typeof value === 'string' ? (JSON.parse(value) as T) : value;
}

function priceSpec(row: PriceRow): PriceSpec {
  const spec: PriceSpec = { model: row.model as RateModel, tier_scope: row.tier_scope as TierScope };
  if (row.unit_price !== null) spec.unit_price = row.unit_price;
  // bigint arrives as a string; sizes are validated safe integers.
  if (row.package_size !== null) spec.package_size = Number(row.package_size);
  if (row.tiers !== null) spec.tiers = json(row.tiers);
  return spec;
}

function rateToDomain(row: PriceRow): RateRecord {
  return {
    id: row.id,
    product: row.product,
    dimension: row.dimension,
    match: json(row.match),
    ...priceSpec(row),
    starting_at: date(row.starting_at!),
    ending_before: date(row.ending_before),
    created_at: date(row.created_at),
  };
}

function overrideToDomain(orgId: string, row: PriceRow): OverrideRecord {
  return {
    id: row.id,
    org_id: orgId,
    product: row.product,
    dimension: row.dimension,
    match: json(row.match),
    ...priceSpec(row),
    starting_at: date(row.starting_at),
    ending_before: date(row.ending_before),
    created_at: date(row.created_at),
  };
}

function ladderToDomain(row: LadderRow): LadderRecord {
  return { product: row.product, ladder: json(row.ladder), created_at: date(row.created_at), updated_at: date(row.updated_at) };
}

/** The price columns of one row, in PRICE_COLUMNS order after the owner column. */
function priceValues(item: RateRecord | OverrideRecord): unknown[] {
  return [
    item.product,
    item.dimension,
    JSON.stringify(item.match),
    item.model,
    item.unit_price ?? null,
    item.package_size ?? null,
    item.tiers === undefined ? null : JSON.stringify(item.tiers),
    item.tier_scope,
    item.starting_at ?? null,
    item.ending_before ?? null,
    item.created_at,
  ];
}

const PRICE_PLACEHOLDERS = '?, ?, ?, ?::jsonb, ?, ?, ?, ?::jsonb, ?, ?, ?, ?';

/**
 * Rate cards in Postgres, through plain SQL (the rows carry jsonb and no relations worth an
 * entity graph). Rates and overrides are append-only: the `price_rows_append_only` trigger
 * refuses any update other than bringing `ending_before` forward, and every delete.
 */
@Injectable()
export class MikroOrmRateCardRepository extends RateCardRepository {
  constructor(private readonly em: EntityManager) {
    super();
  }

  async findCard(id: string): Promise<RateCard | null> {
    return this.readCard(this.em, id, false);
  }

  async cardExists(id: string): Promise<boolean> {
    const rows = await this.em.getConnection().execute<{ id: string }[]>('select id from rate_cards where id = ?', [id]);
    return rows.length > 0;
  }

  async listCards(before: { createdAt: Date; id: string } | undefined, limit: number, onlyId?: string): Promise<RateCardSummary[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (before) {
      where.push('(created_at, id) < (?, ?)');
      params.push(before.createdAt, before.id);
    }
    if (onlyId !== undefined) {
      where.push('id = ?');
      params.push(onlyId);
    }
    const rows = await this.em.getConnection().execute<CardRow[]>(
      `select id, name, created_at, updated_at from rate_cards ${where.length ? 'where ' + where.join(' and ') : ''}
        order by created_at desc, id desc limit ?`,
      [...params, limit + 1],
    );
    return rows.map((r) => ({ id: r.id, name: r.name, created_at: date(r.created_at), updated_at: date(r.updated_at) }));
  }

  async insertCard(card: RateCard, audit: AuditRecord): Promise<void> {
    await this.em.fork().transactional(async (tx) => {
      await this.run(tx, 'insert into rate_cards (id, name, created_at, updated_at) values (?, ?, ?, ?)', [
        card.id,
        card.name,
        card.created_at,
        card.updated_at,
      ]);
      await this.insertRates(tx, card.id, card.rates);
      for (const ladder of card.ladders) await this.upsertLadder(tx, card.id, ladder);
      appendAuditEntry(tx, audit, card.created_at);
      await tx.flush();
    });
  }

  async changeCard<T>(id: string, plan: (card: RateCard) => CardChange<T>): Promise<{ result: T } | null> {
    return this.em.fork().transactional(async (tx) => {
      const card = await this.readCard(tx, id, true);
      if (!card) return null;
      const change = plan(card);
      if (change.audit === null) return { result: change.result };
      await this.insertRates(tx, id, change.addRates ?? []);
      for (const end of change.endRates ?? []) {
        await this.run(tx, 'update rates set ending_before = ? where id = ? and rate_card_id = ?', [end.ending_before, end.id, id]);
      }
      if (change.putLadder) await this.upsertLadder(tx, id, change.putLadder);
      if (change.deleteLadder !== undefined)
        await this.run(tx, 'delete from downgrade_ladders where rate_card_id = ? and product = ?', [id, change.deleteLadder]);
      await this.run(tx, 'update rate_cards set updated_at = ? where id = ?', [change.updatedAt, id]);
      appendAuditEntry(tx, change.audit, change.updatedAt);
      await tx.flush();
      return { result: change.result };
    });
  }

  async listOverrides(orgId: string): Promise<OverrideRecord[]> {
    return this.readOverrides(this.em, orgId);
  }

  async changeOverrides<T>(orgId: string, plan: (existing: OverrideRecord[]) => OverridesChange<T>): Promise<T> {
    return this.em.fork().transactional(async (tx) => {
      await this.run(tx, 'select pg_advisory_xact_lock(?, hashtext(?))', [OVERRIDES_LOCK_CLASS, orgId]);
      const change = plan(await this.readOverrides(tx, orgId));
      if (change.add.length > 0) {
        await this.run(
          tx,
          `insert into rate_overrides (org_id, ${PRICE_COLUMNS}) values ${change.add.map(() => `(?, ${PRICE_PLACEHOLDERS})`).join(', ')}`,
          change.add.flatMap((o) => [orgId, o.id, ...priceValues(o)]),
        );
      }
      for (const end of change.endOverrides) {
        await this.run(tx, 'update rate_overrides set ending_before = ? where id = ? and org_id = ?', [end.ending_before, end.id, orgId]);
      }
      appendAuditEntry(tx, change.audit, change.at);
      await tx.flush();
      return change.result;
    });
  }

  private async readCard(em: EntityManager, id: string, lock: boolean): Promise<RateCard | null> {
    const ctx = em.isInTransaction() ? em.getTransactionContext() : undefined;
    const connection = em.getConnection();
    const [row] = await connection.execute<CardRow[]>(
      `select id, name, created_at, updated_at from rate_cards where id = ?${lock ? ' for update' : ''}`,
      [id],
      'all',
      ctx,
    );
    if (!row) return null;
    const rates = await connection.execute<PriceRow[]>(
      `select ${PRICE_COLUMNS} from rates where rate_card_id = ? order by seq`,
      [id],
      'all',
      ctx,
    );
    const ladders = await connection.execute<LadderRow[]>(
      'select product, ladder, created_at, updated_at from downgrade_ladders where rate_card_id = ? order by product',
      [id],
      'all',
      ctx,
    );
    return {
      id: row.id,
      name: row.name,
      created_at: date(row.created_at),
      updated_at: date(row.updated_at),
      rates: rates.map(rateToDomain),
      ladders: ladders.map(ladderToDomain),
    };
  }

  private async readOverrides(em: EntityManager, orgId: string): Promise<OverrideRecord[]> {
    const ctx = em.isInTransaction() ? em.getTransactionContext() : undefined;
    const rows = await em
      .getConnection()
      .execute<PriceRow[]>(`select ${PRICE_COLUMNS} from rate_overrides where org_id = ? order by seq`, [orgId], 'all', ctx);
    return rows.map((row) => overrideToDomain(orgId, row));
  }

  private async insertRates(tx: EntityManager, cardId: string, rates: readonly RateRecord[]): Promise<void> {
    if (rates.length === 0) return;
    await this.run(
      tx,
      `insert into rates (rate_card_id, ${PRICE_COLUMNS}) values ${rates.map(() => `(?, ${PRICE_PLACEHOLDERS})`).join(', ')}`,
      rates.flatMap((r) => [cardId, r.id, ...priceValues(r)]),
    );
  }

  private async upsertLadder(tx: EntityManager, cardId: string, ladder: LadderRecord): Promise<void> {
    await this.run(
      tx,
      `insert into downgrade_ladders (rate_card_id, product, ladder, created_at, updated_at) values (?, ?, ?::jsonb, ?, ?)
       on conflict (rate_card_id, product) do update set ladder = excluded.ladder, updated_at = excluded.updated_at`,
      [cardId, ladder.product, JSON.stringify(ladder.ladder), ladder.created_at, ladder.updated_at],
    );
  }

  private async run(tx: EntityManager, sql: string, params: unknown[]): Promise<void> {
    await tx.getConnection().execute(sql, params, 'run', tx.getTransactionContext());
  }
}
