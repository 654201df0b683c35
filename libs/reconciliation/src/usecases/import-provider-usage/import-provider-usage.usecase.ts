import { Injectable, Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { Clock, TollgateError } from '@tollgate/platform';
import { AdjustCommitResult, AdjustCommitUseCase, CommitToAdjust } from '@tollgate/reservations';
import { CallContext } from '@tollgate/tenancy';
import { ProviderUsageRepository, StoredRecord } from '../../adapters/mikro-orm/provider-usage.repository';
import {
  checkRecord,
  importerOf,
  MAX_UNMATCHED_COMMITS,
  ProviderRecord,
  providerRecordId,
  RawRecord,
  ReconciliationRun,
  RunItem,
  summarize,
  usageHash,
} from '../../domain/provider-usage';

/** Matched records adjusted at a time: each is one short transaction and one store call. */
const ADJUST_CONCURRENCY = 4;

/** Statuses after which an identical report of the request is a duplicate (no second effect). */
const SETTLED = new Set(['matched', 'adjusted', 'unadjustable']);

export interface ImportRequest {
  source: 'json' | 'csv';
  records: RawRecord[];
  unmatchedCommitAgeSeconds: number;
  unmatchedCommitWindowSeconds: number;
}

export interface ImportedRun {
  run: ReconciliationRun;
  items: RunItem[];
}

interface Pending {
  item: RunItem;
  record: ProviderRecord;
  storedId: string;
  hash: string;
}

/**
 * Imports a batch of provider usage records (decision 023): each valid record is matched to the
 * commit naming its provider and request id (in the caller's organization and environment for an
 * organization key, across organizations of the environment for a platform key), and a match
 * whose provider usage charges differently becomes an adjustment (AdjustCommitUseCase). Each
 * record is reported by its position; a bad one never stops the others. The run, its items and
 * the records are kept; commits old enough with no provider record are listed as unmatched.
 */
@Injectable()
export class ImportProviderUsageUseCase {
  private readonly logger = new Logger('ProviderUsage');

  constructor(
    private readonly repository: ProviderUsageRepository,
    private readonly adjust: AdjustCommitUseCase,
    private readonly clock: Clock,
  ) {}

  async execute(ctx: CallContext, request: ImportRequest): Promise<ImportedRun> {
    const now = this.clock.now();
    const environment = ctx.principal.environment;
    const orgId = ctx.principal.orgId;
    const importer = importerOf(orgId);
    const runId = 'run_' + randomBytes(16).toString('base64url');
    const items: RunItem[] = [];
    const pending: Pending[] = [];
    const firstInBatch = new Map<string, { position: number; hash: string }>();

    for (const raw of request.records) {
      const checked = checkRecord(raw);
      if (!checked.ok) {
        items.push(item(checked.position, 'invalid', null, { errors: checked.errors }));
        continue;
      }
      const record = checked.record;
      const hash = usageHash(record);
      const key = `${record.provider}\n${record.requestId}`;
      const first = firstInBatch.get(key);
      if (first) {
        // One report per request and batch: the same again is a duplicate, another figure is ambiguous.
        items.push(
          first.hash === hash
            ? item(record.position, 'duplicate', record, { detail: `repeats the record at ${first.position} of this import` })
            : item(record.position, 'invalid', record, {
                errors: [{ field: raw.field('request_id'), message: `reported at ${first.position} of this import with other usage` }],
              }),
        );
        continue;
      }
      firstInBatch.set(key, { position: record.position, hash });
      const entry: Pending = {
        item: item(record.position, 'unmatched', record),
        record,
        storedId: providerRecordId(importer, environment, record.provider, record.requestId),
        hash,
      };
      items.push(entry.item);
      pending.push(entry);
    }

    const kept = await this.repository.keptRecords(pending.map((p) => p.storedId));
    const fresh: Pending[] = [];
    for (const p of pending) {
      const before = kept.get(p.storedId);
      if (before && before.usageHash === p.hash && SETTLED.has(before.status)) {
        p.item.status = 'duplicate';
        p.item.detail = 'imported before with the same usage: no effect';
        continue;
      }
      p.item.revised = before !== undefined && before.usageHash !== p.hash;
      fresh.push(p);
    }

    const matches = await this.repository.commitsNaming(
      environment,
      orgId,
      fresh.map((p) => ({ provider: p.record.provider, requestId: p.record.requestId })),
    );
    const stored: StoredRecord[] = [];
    const toAdjust: { p: Pending; commit: CommitToAdjust }[] = [];
    for (const p of fresh) {
      const commits = matches.get(`${p.record.provider}\n${p.record.requestId}`) ?? [];
      const keep = (commit: CommitToAdjust | null) =>
        stored.push({
          id: p.storedId,
          importer,
          environment,
          record: p.record,
          usageHash: p.hash,
          orgId: commit?.orgId ?? orgId,
          reservationId: commit?.reservationId ?? null,
          status: p.item.status,
        });
      if (commits.length === 0) {
        keep(null);
        continue;
      }
      if (commits.length > 1) {
        p.item.status = 'ambiguous';
        p.item.detail = `${commits.length} commits name this provider request id; none was adjusted`;
        keep(null);
        continue;
      }
      toAdjust.push({ p, commit: commits[0] });
    }

    await forEachLimited(toAdjust, ADJUST_CONCURRENCY, async ({ p, commit }) => {
      p.item.orgId = commit.orgId;
      p.item.reservationId = commit.reservationId;
      let result: AdjustCommitResult;
      try {
        result = await this.adjust.execute(
          commit,
          { usage: p.record.usage, dimensions: p.record.dimensions },
          `provider usage ${p.record.provider} ${p.record.requestId} (run ${runId})`,
        );
      } catch (error) {
        // Nothing of this record was written (the adjustment's transaction failed whole): a re-import retries it.
        p.item.status = 'failed';
        p.item.detail = error instanceof TollgateError ? error.message : 'internal error; import the record again';
        if (!(error instanceof TollgateError)) this.logger.error({ err: error, reservation: commit.reservationId }, 'adjustment failed');
        return;
      }
      applyResult(p.item, result);
      stored.push({
        id: p.storedId,
        importer,
        environment,
        record: p.record,
        usageHash: p.hash,
        orgId: commit.orgId,
        reservationId: commit.reservationId,
        status: p.item.status,
      });
    });

    const providers = [...new Set(items.filter((i) => i.provider !== null).map((i) => i.provider!))].sort();
    const olderThan = new Date(now.getTime() - request.unmatchedCommitAgeSeconds * 1000);
    const unmatched = await this.repository.unmatchedCommits(
      environment,
      orgId,
      providers,
      // Commits this run matched have records now (written with the run, below).
      stored.flatMap((s) => (s.reservationId ? [s.reservationId] : [])),
      { from: new Date(olderThan.getTime() - request.unmatchedCommitWindowSeconds * 1000), to: olderThan },
      MAX_UNMATCHED_COMMITS,
    );
    const truncated = unmatched.length > MAX_UNMATCHED_COMMITS;
    const listed = unmatched.slice(0, MAX_UNMATCHED_COMMITS);
    const orgs = new Set<string>(items.filter((i) => i.reservationId !== null && i.orgId !== null).map((i) => i.orgId!));
    if (orgId !== null) orgs.add(orgId);
    const run: ReconciliationRun = {
      id: runId,
      environment,
      orgId,
      createdBy: ctx.principal.keyId,
      source: request.source,
      summary: summarize(items, { count: listed.length, truncated }),
      orgs: [...orgs].sort(),
      unmatchedCommitAgeSeconds: request.unmatchedCommitAgeSeconds,
      unmatchedCommits: listed,
      createdAt: now,
    };
    items.sort((a, b) => a.position - b.position);
    await this.repository.saveRun(run, items, stored);
    return { run, items };
  }
}

function item(position: number, status: RunItem['status'], record: ProviderRecord | null, extra: Partial<RunItem> = {}): RunItem {
  return {
    position,
    status,
    provider: record?.provider ?? null,
    requestId: record?.requestId ?? null,
    orgId: null,
    reservationId: null,
    chargedBefore: null,
    chargedAfter: null,
    delta: null,
    ledgerEntryId: null,
    eventIds: null,
    detail: null,
    errors: null,
    ...extra,
  };
}

function applyResult(target: RunItem, result: AdjustCommitResult): void {
  switch (result.kind) {
    case 'equal':
      target.status = 'matched';
      target.chargedBefore = result.charged;
      target.chargedAfter = result.charged;
      target.delta = 0;
      return;
    case 'adjusted':
      target.status = 'adjusted';
      target.chargedBefore = result.chargedBefore;
      target.chargedAfter = result.chargedAfter;
      target.delta = result.delta;
      target.ledgerEntryId = result.ledgerEntryId;
      target.eventIds = result.eventIds;
      return;
    case 'unadjustable':
      target.status = 'unadjustable';
      target.detail = result.reason;
      target.errors = [{ field: result.field ?? 'request_id', message: result.reason }];
      return;
  }
}

async function forEachLimited<T>(list: T[], limit: number, run: (value: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < list.length) await run(list[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, list.length) }, worker));
}
