import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { HoldPeriods } from '@tollgate/quota';
import { CommitToAdjust, ReservationPricing } from '@tollgate/reservations';
import { ProviderRecord, ReconciliationRun, RunItem, RunItemStatus, RunSummary, UnmatchedCommit } from '../../domain/provider-usage';

type Environment = 'live' | 'test';

/** A provider record as this import keeps it: the last report of its importer for the request. */
export interface StoredRecord {
  id: string;
  importer: string;
  environment: Environment;
  record: ProviderRecord;
  usageHash: string;
  orgId: string | null;
  reservationId: string | null;
  status: RunItemStatus;
}

interface RunRow {
  id: string;
  environment: Environment;
  org_id: string | null;
  created_by: string | null;
  source: 'json' | 'csv';
  summary: RunSummary;
  orgs: string[];
  unmatched_commit_age_seconds: number;
  unmatched_commits: UnmatchedCommit[];
  created_at: string | Date;
}

function toRun(row: RunRow): ReconciliationRun {
  return {
    id: row.id,
    environment: row.environment,
    orgId: row.org_id,
    createdBy: row.created_by,
    source: row.source,
    summary: row.summary,
    orgs: row.orgs,
    unmatchedCommitAgeSeconds: row.unmatched_commit_age_seconds,
    unmatchedCommits: row.unmatched_commits,
    createdAt: new Date(row.created_at),
  };
}

/** Who may see a run: an organization key its own organization's runs, a platform key every run of its environment. */
export interface RunVisibility {
  environment: Environment;
  orgId: string | null;
}

/**
 * Provider usage records, reconciliation runs and the matching reads over the ledger. Lists of
 * a batch go to Postgres as one jsonb parameter (jsonb_to_recordset): 10,000 records are one
 * statement, whatever the driver's limit on parameters.
 */
@Injectable()
export class ProviderUsageRepository {
  constructor(private readonly em: EntityManager) {}

  /** The importer's kept records among these ids: id → its usage hash and status. */
  async keptRecords(ids: string[]): Promise<Map<string, { usageHash: string; status: RunItemStatus }>> {
    if (ids.length === 0) return new Map();
    const rows = await this.em
      .getConnection()
      .execute<{ id: string; usage_hash: string; status: RunItemStatus }[]>(
        `select id, usage_hash, status from provider_usage_records where id in (select jsonb_array_elements_text(?::jsonb))`,
        [JSON.stringify(ids)],
      );
    return new Map(rows.map((r) => [r.id, { usageHash: r.usage_hash, status: r.status }]));
  }

  /**
   * The commits (kind 'commit', in the environment, of `orgId` when given) naming each
   * (provider, request id), keyed `provider\nrequest id`. Another organization's commit is
   * never read for an organization key.
   */
  async commitsNaming(environment: Environment, orgId: string | null, keys: { provider: string; requestId: string }[]) {
    const found = new Map<string, CommitToAdjust[]>();
    if (keys.length === 0) return found;
    const params: unknown[] = [JSON.stringify(keys.map((k) => ({ provider: k.provider, request_id: k.requestId }))), environment];
    if (orgId !== null) params.push(orgId);
    const rows = await this.em.getConnection().execute<
      {
        reservation_id: string;
        org_id: string;
        project_id: string;
        user_id: string;
        periods: HoldPeriods;
        provider: string;
        provider_request_id: string;
        hold: string;
        pricing: ReservationPricing | null;
      }[]
    >(
      `with k as (select distinct provider, request_id from jsonb_to_recordset(?::jsonb) as k(provider text, request_id text))
       select l.reservation_id, l.org_id, l.project_id, l.user_id, l.periods, l.provider, l.provider_request_id,
              r.amount as hold, r.pricing
         from k
         join usage_ledger l on l.provider = k.provider and l.provider_request_id = k.request_id and l.kind = 'commit'
         join reservations r on r.id = l.reservation_id
        where l.environment = ? ${orgId !== null ? 'and l.org_id = ?' : ''}
        order by l.reservation_id`,
      params,
    );
    for (const row of rows) {
      const key = `${row.provider}\n${row.provider_request_id}`;
      const list = found.get(key) ?? [];
      list.push({
        reservationId: row.reservation_id,
        orgId: row.org_id,
        environment,
        projectId: row.project_id,
        userId: row.user_id,
        periods: row.periods,
        holdAmount: Number(row.hold),
        pricing: row.pricing,
        provider: row.provider,
        providerRequestId: row.provider_request_id,
      });
      found.set(key, list);
    }
    return found;
  }

  /**
   * Commits of these providers committed in [from, to) that carry a provider request id and
   * that no importer's record matched (nor this run: `matched`), oldest first, at most `limit + 1` (one more says "more").
   */
  async unmatchedCommits(
    environment: Environment,
    orgId: string | null,
    providers: string[],
    matched: string[],
    window: { from: Date; to: Date },
    limit: number,
  ): Promise<UnmatchedCommit[]> {
    if (providers.length === 0) return [];
    const params: unknown[] = [environment, JSON.stringify(providers), JSON.stringify(matched), window.from, window.to];
    if (orgId !== null) params.push(orgId);
    params.push(limit + 1);
    const rows = await this.em.getConnection().execute<
      {
        org_id: string;
        reservation_id: string;
        provider: string;
        provider_request_id: string;
        amount: string;
        committed_at: string | Date;
      }[]
    >(
      `select l.org_id, l.reservation_id, l.provider, l.provider_request_id, l.amount, l.committed_at
         from usage_ledger l
        where l.kind = 'commit' and l.provider_request_id is not null and l.environment = ?
          and l.provider in (select jsonb_array_elements_text(?::jsonb))
          and l.reservation_id not in (select jsonb_array_elements_text(?::jsonb))
          and l.committed_at >= ? and l.committed_at < ? ${orgId !== null ? 'and l.org_id = ?' : ''}
          and not exists (select 1 from provider_usage_records p where p.reservation_id = l.reservation_id)
        order by l.committed_at, l.reservation_id
        limit ?`,
      params,
    );
    return rows.map((r) => ({
      org_id: r.org_id,
      reservation_id: r.reservation_id,
      provider: r.provider,
      provider_request_id: r.provider_request_id,
      amount: Number(r.amount),
      committed_at: new Date(r.committed_at).toISOString(),
    }));
  }

  /** The run, its items and the records it changed, in one transaction. */
  async saveRun(run: ReconciliationRun, items: RunItem[], records: StoredRecord[]): Promise<void> {
    await this.em.fork().transactional(async (tx) => {
      await tx.execute(
        `insert into reconciliation_runs (id, environment, org_id, created_by, source, summary, orgs, unmatched_commit_age_seconds,
                                          unmatched_commits, created_at)
         values (?, ?, ?, ?, ?, ?::jsonb, ?::jsonb, ?, ?::jsonb, ?)`,
        [
          run.id,
          run.environment,
          run.orgId,
          run.createdBy,
          run.source,
          JSON.stringify(run.summary),
          JSON.stringify(run.orgs),
          run.unmatchedCommitAgeSeconds,
          JSON.stringify(run.unmatchedCommits),
          run.createdAt,
        ],
      );
      if (items.length > 0) {
        await tx.execute(
          `insert into reconciliation_run_items (run_id, position, status, provider, request_id, org_id, reservation_id, charged_before,
                                                 charged_after, delta, ledger_entry_id, event_ids, detail, errors, revised)
           select ?, position, status, provider, request_id, org_id, reservation_id, charged_before, charged_after, delta,
                  ledger_entry_id, event_ids, detail, errors, revised
             from jsonb_to_recordset(?::jsonb) as x(position int, status text, provider text, request_id text, org_id text,
                  reservation_id text, charged_before bigint, charged_after bigint, delta bigint, ledger_entry_id text,
                  event_ids jsonb, detail text, errors jsonb, revised boolean)`,
          [
            run.id,
            JSON.stringify(
              items.map((i) => ({
                position: i.position,
                status: i.status,
                provider: i.provider,
                request_id: i.requestId,
                org_id: i.orgId,
                reservation_id: i.reservationId,
                charged_before: i.chargedBefore,
                charged_after: i.chargedAfter,
                delta: i.delta,
                ledger_entry_id: i.ledgerEntryId,
                event_ids: i.eventIds,
                detail: i.detail,
                errors: i.errors,
                revised: i.revised ?? false,
              })),
            ),
          ],
        );
      }
      if (records.length > 0) {
        // The last report per importer and request; a revision counts up.
        await tx.execute(
          `insert into provider_usage_records (id, importer, environment, provider, request_id, usage, dimensions, occurred_at, usage_hash,
                                               org_id, reservation_id, status, run_id, imported_at, updated_at)
           select id, importer, environment, provider, request_id, usage, dimensions, occurred_at, usage_hash, org_id, reservation_id,
                  status, ?, ?, ?
             from jsonb_to_recordset(?::jsonb) as x(id text, importer text, environment text, provider text, request_id text,
                  usage jsonb, dimensions jsonb, occurred_at timestamptz, usage_hash text, org_id text, reservation_id text, status text)
           on conflict (id) do update set usage = excluded.usage, dimensions = excluded.dimensions, occurred_at = excluded.occurred_at,
                  usage_hash = excluded.usage_hash, org_id = excluded.org_id, reservation_id = excluded.reservation_id,
                  status = excluded.status, run_id = excluded.run_id, updated_at = excluded.updated_at,
                  revision = provider_usage_records.revision + case when provider_usage_records.usage_hash = excluded.usage_hash then 0 else 1 end`,
          [
            run.id,
            run.createdAt,
            run.createdAt,
            JSON.stringify(
              records.map((r) => ({
                id: r.id,
                importer: r.importer,
                environment: r.environment,
                provider: r.record.provider,
                request_id: r.record.requestId,
                usage: r.record.usage,
                dimensions: r.record.dimensions,
                occurred_at: r.record.occurredAt.toISOString(),
                usage_hash: r.usageHash,
                org_id: r.orgId,
                reservation_id: r.reservationId,
                status: r.status,
              })),
            ),
          ],
        );
      }
    });
  }

  async findRun(id: string, visibility: RunVisibility): Promise<ReconciliationRun | null> {
    const [row] = await this.em
      .getConnection()
      .execute<RunRow[]>(
        `select * from reconciliation_runs where id = ? and environment = ? ${visibility.orgId !== null ? 'and org_id = ?' : ''}`,
        [id, visibility.environment, ...(visibility.orgId !== null ? [visibility.orgId] : [])],
      );
    return row ? toRun(row) : null;
  }

  async runItems(runId: string): Promise<RunItem[]> {
    const rows = await this.em.getConnection().execute<
      {
        position: number;
        status: RunItemStatus;
        provider: string | null;
        request_id: string | null;
        org_id: string | null;
        reservation_id: string | null;
        charged_before: string | null;
        charged_after: string | null;
        delta: string | null;
        ledger_entry_id: string | null;
        event_ids: string[] | null;
        detail: string | null;
        errors: RunItem['errors'];
        revised: boolean;
      }[]
    >(`select * from reconciliation_run_items where run_id = ? order by position`, [runId]);
    const num = (v: string | null) => (v === null ? null : Number(v));
    return rows.map((r) => ({
      position: r.position,
      status: r.status,
      provider: r.provider,
      requestId: r.request_id,
      orgId: r.org_id,
      reservationId: r.reservation_id,
      chargedBefore: num(r.charged_before),
      chargedAfter: num(r.charged_after),
      delta: num(r.delta),
      ledgerEntryId: r.ledger_entry_id,
      eventIds: r.event_ids,
      detail: r.detail,
      errors: r.errors,
      revised: r.revised,
    }));
  }

  /** Newest first, `limit + 1` runs before the (created_at, id) position. */
  async listRuns(
    visibility: RunVisibility,
    before: { createdAt: string; id: string } | undefined,
    limit: number,
  ): Promise<ReconciliationRun[]> {
    const where = ['environment = ?'];
    const params: unknown[] = [visibility.environment];
    if (visibility.orgId !== null) {
      where.push('org_id = ?');
      params.push(visibility.orgId);
    }
    if (before) {
      where.push('(created_at, id) < (?, ?)');
      params.push(new Date(before.createdAt), before.id);
    }
    params.push(limit + 1);
    const rows = await this.em
      .getConnection()
      .execute<RunRow[]>(
        `select * from reconciliation_runs where ${where.join(' and ')} order by created_at desc, id desc limit ?`,
        params,
      );
    return rows.map(toRun);
  }
}
