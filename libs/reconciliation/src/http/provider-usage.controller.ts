import { Body, Controller, Get, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  BulkBody,
  CsvBody,
  decodeCursor,
  DEFAULT_PAGE_SIZE,
  fieldPath,
  Idempotent,
  PageQueryDto,
  PlatformError,
  toPage,
  unknownFieldMessage,
} from '@tollgate/platform';
import { CallContext, Caller, RequireScopes } from '@tollgate/tenancy';
import { DEFAULT_UNMATCHED_COMMIT_AGE_SECONDS, MAX_IMPORT_RECORDS, RawRecord, ReconciliationRun, RunItem } from '../domain/provider-usage';
import { ReconciliationError } from '../domain/reconciliation.error';
import { GetReconciliationRunUseCase } from '../usecases/get-reconciliation-run/get-reconciliation-run.usecase';
import { ImportProviderUsageUseCase } from '../usecases/import-provider-usage/import-provider-usage.usecase';
import { ListReconciliationRunsUseCase } from '../usecases/list-reconciliation-runs/list-reconciliation-runs.usecase';
import { csvRecords } from './provider-usage-csv';
import { ImportQueryDto, RunPathDto } from './provider-usage.dto';

const DEFAULT_UNMATCHED_COMMIT_WINDOW_SECONDS = 30 * 86_400;

/**
 * 10,000 records of a few dimensions each are about 2 MB of JSON or 1 MB of CSV; 16 MiB leaves
 * room for long request ids. Arrays wider than the records are refused by the JSON scan.
 */
const IMPORT_BODY = { maxBytes: 16 * 1024 * 1024, maxTokens: 1_000_000, maxItems: 100_000, csv: true };

function presentRun(run: ReconciliationRun) {
  return {
    id: run.id,
    environment: run.environment,
    org_id: run.orgId,
    source: run.source,
    created_at: run.createdAt.toISOString(),
    orgs: run.orgs,
    summary: run.summary,
    unmatched_commit_age_seconds: run.unmatchedCommitAgeSeconds,
  };
}

function presentItem(source: ReconciliationRun['source'], i: RunItem) {
  return {
    // JSON records are named by their index in `records`, CSV rows by their line.
    ...(source === 'csv' ? { line: i.position } : { index: i.position }),
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
    revised: i.revised ?? false,
    detail: i.detail,
    errors: i.errors,
  };
}

function presentRunWithItems({ run, items }: { run: ReconciliationRun; items: RunItem[] }) {
  return {
    ...presentRun(run),
    unmatched_commits: run.unmatchedCommits,
    items: items.map((i) => presentItem(run.source, i)),
  };
}

/** The JSON body's records, each named `records[i].<field>` in errors. */
function jsonRecords(body: unknown): RawRecord[] {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw PlatformError.validation([{ field: 'body', message: 'must be {"records": [...]} (application/json) or CSV (text/csv)' }]);
  }
  const extra = Object.keys(body).filter((k) => k !== 'records');
  if (extra.length > 0) throw PlatformError.validation(extra.slice(0, 20).map((k) => ({ field: k, message: unknownFieldMessage(k) })));
  const records = (body as { records?: unknown }).records;
  if (!Array.isArray(records))
    throw PlatformError.validation([{ field: 'records', message: 'records must be an array of provider records' }]);
  if (records.length > MAX_IMPORT_RECORDS) throw tooMany(records.length);
  return records.map((value, index) => ({
    position: index,
    value,
    field: (member: string) => fieldPath('records', index, member),
  }));
}

function tooMany(count: number): ReconciliationError {
  return new ReconciliationError(
    'too_many_records',
    `An import takes at most ${MAX_IMPORT_RECORDS.toLocaleString('en')} records; this one has ${count.toLocaleString('en')}.`,
    { max_records: MAX_IMPORT_RECORDS },
  );
}

@ApiTags('reconciliation')
@ApiBearerAuth()
@Idempotent()
@Controller('v1/reconciliation')
export class ProviderUsageController {
  constructor(
    private readonly importUsage: ImportProviderUsageUseCase,
    private readonly getRun: GetReconciliationRunUseCase,
    private readonly listRuns: ListReconciliationRunsUseCase,
  ) {}

  @Post('provider-usage')
  @BulkBody(IMPORT_BODY)
  @ApiOperation({
    summary: 'Import provider usage records',
    description:
      'JSON {"records": [{provider, request_id, usage, dimensions?, occurred_at}]} or text/csv (header provider, request_id, ' +
      'occurred_at, usage.<dimension>..., dimensions.<key>...), at most 10,000 records (more: 413 too_many_records). Each record ' +
      'is matched to the commit naming its provider and request id (an organization key: its own organization and environment; a ' +
      "platform key: every organization of X-Environment). A match whose usage, priced at the hold's recorded rates within the " +
      'overage policy, charges differently is adjusted: a signed ledger row and correction events, and the quota counters move. ' +
      'Answers the run (201): every record by index or line with its status (matched, adjusted, duplicate, unmatched, ambiguous, ' +
      'unadjustable, invalid, failed), and the commits of the same providers older than unmatched_commit_age with no record.',
  })
  @RequireScopes('quota:admin')
  async import(@Caller() ctx: CallContext, @Body() body: unknown, @Query() query: ImportQueryDto) {
    const csv = body instanceof CsvBody;
    const records = csv ? csvRecords(body.csv) : jsonRecords(body);
    const result = await this.importUsage.execute(ctx, {
      source: csv ? 'csv' : 'json',
      records,
      unmatchedCommitAgeSeconds: query.unmatched_commit_age ?? DEFAULT_UNMATCHED_COMMIT_AGE_SECONDS,
      unmatchedCommitWindowSeconds: query.unmatched_commit_window ?? DEFAULT_UNMATCHED_COMMIT_WINDOW_SECONDS,
    });
    return presentRunWithItems(result);
  }

  @Get('runs')
  @ApiOperation({
    summary: 'Reconciliation runs, newest first',
    description: 'Runs the caller may see: an organization key its own, a platform key those of its environment.',
  })
  @RequireScopes('read', 'quota:admin', 'billing:admin')
  async runs(@Caller() ctx: CallContext, @Query() query: PageQueryDto) {
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const before = decodeCursor<{ createdAt: string; id: string }>(query.cursor, ['createdAt', 'id']);
    const runs = await this.listRuns.execute(ctx, before, limit);
    return toPage(runs, limit, presentRun, (r) => ({ createdAt: r.createdAt.toISOString(), id: r.id }));
  }

  @Get('runs/:id')
  @ApiOperation({ summary: 'A reconciliation run with its items and unmatched commits' })
  @RequireScopes('read', 'quota:admin', 'billing:admin')
  async run(@Caller() ctx: CallContext, @Param() { id }: RunPathDto) {
    return presentRunWithItems(await this.getRun.execute(ctx, id));
  }
}
