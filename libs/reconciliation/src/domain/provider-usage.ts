import { createHash } from 'node:crypto';
import { Decimal } from 'decimal.js';
import { FieldError } from '@tollgate/platform/errors';

/** Records one import takes; more is refused whole (413 too_many_records). */
export const MAX_IMPORT_RECORDS = 10_000;
/** Unmatched commits a run lists at most (it counts them all up to this many plus one: `truncated`). */
export const MAX_UNMATCHED_COMMITS = 1_000;
/** A commit with no provider record is reported unmatched once it is this old (default `unmatched_commit_age`). */
export const DEFAULT_UNMATCHED_COMMIT_AGE_SECONDS = 86_400;
export const MAX_UNMATCHED_COMMIT_AGE_SECONDS = 400 * 86_400;

const PROVIDER = /^[A-Za-z0-9._:-]{1,128}$/;
const NAME = /^[a-zA-Z0-9._:-]{1,64}$/;
const DECIMAL = /^\d{1,30}(\.\d{1,30})?$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i;

/** A provider's report of one request, as imported. */
export interface ProviderRecord {
  /** JSON: the record's index in `records`; CSV: the line it ends on (the header is line 1). */
  position: number;
  provider: string;
  requestId: string;
  /** Exact decimal strings. */
  usage: Record<string, string>;
  dimensions: Record<string, string>;
  occurredAt: Date;
}

/** A record as the body held it, before validation; `fields` name its members as the caller wrote them. */
export interface RawRecord {
  position: number;
  value: unknown;
  /** How a member is named in errors: `records[3].usage.x` for JSON, `usage.x` for a CSV column. */
  field: (member: string) => string;
  /** Problems found before the record could be read (a CSV row with the wrong number of cells). */
  errors?: FieldError[];
}

export type CheckedRecord = { ok: true; record: ProviderRecord } | { ok: false; position: number; errors: FieldError[] };

/** Validates one record; every problem is named by field, and a bad record never stops the batch. */
export function checkRecord(raw: RawRecord): CheckedRecord {
  if (raw.errors?.length) return { ok: false, position: raw.position, errors: raw.errors };
  const errors: FieldError[] = [];
  const bad = (member: string, message: string) => errors.push({ field: raw.field(member), message });
  const v = raw.value;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    return { ok: false, position: raw.position, errors: [{ field: raw.field(''), message: 'must be an object' }] };
  }
  const r = v as Record<string, unknown>;
  for (const key of Object.keys(r)) {
    if (!['provider', 'request_id', 'usage', 'dimensions', 'occurred_at'].includes(key)) bad(key, 'is not a field of a provider record');
  }
  if (typeof r.provider !== 'string' || !PROVIDER.test(r.provider)) bad('provider', 'must be 1-128 letters, digits, ".", "_", "-" or ":"');
  if (typeof r.request_id !== 'string' || r.request_id.length === 0 || r.request_id.length > 256)
    bad('request_id', 'must be a string of 1 to 256 characters');
  const usage: Record<string, string> = {};
  if (r.usage === null || typeof r.usage !== 'object' || Array.isArray(r.usage)) bad('usage', 'must be an object of dimension quantities');
  else {
    const entries = Object.entries(r.usage as Record<string, unknown>);
    if (entries.length === 0) bad('usage', 'must name at least one dimension');
    for (const [name, value] of entries) {
      if (!NAME.test(name)) bad('usage', `dimension '${name.slice(0, 64)}' must be 1-64 letters, digits, ".", "_", "-" or ":"`);
      else if (typeof value === 'number' && Number.isFinite(value) && value >= 0) usage[name] = new Decimal(value).toFixed();
      else if (typeof value === 'string' && DECIMAL.test(value)) usage[name] = new Decimal(value).toFixed();
      else bad(`usage.${name}`, 'must be a non-negative number or decimal string');
    }
  }
  const dimensions: Record<string, string> = {};
  if (r.dimensions !== undefined) {
    if (r.dimensions === null || typeof r.dimensions !== 'object' || Array.isArray(r.dimensions)) bad('dimensions', 'must be an object');
    else {
      for (const [name, value] of Object.entries(r.dimensions as Record<string, unknown>)) {
        if (!NAME.test(name)) bad('dimensions', `dimension '${name.slice(0, 64)}' must be 1-64 letters, digits, ".", "_", "-" or ":"`);
        else if (typeof value !== 'string' || value.length === 0 || value.length > 128)
          bad(`dimensions.${name}`, 'must be a string of 1 to 128 characters');
        else dimensions[name] = value;
      }
    }
  }
  let occurredAt = new Date(NaN);
  if (typeof r.occurred_at === 'string' && RFC3339.test(r.occurred_at)) occurredAt = new Date(r.occurred_at);
  if (Number.isNaN(occurredAt.getTime())) bad('occurred_at', 'must be an RFC 3339 date-time');
  if (errors.length > 0) return { ok: false, position: raw.position, errors };
  return {
    ok: true,
    record: {
      position: raw.position,
      provider: r.provider as string,
      requestId: r.request_id as string,
      usage,
      dimensions,
      occurredAt,
    },
  };
}

/**
 * What makes two reports of one request the same: the usage (exact decimals) and dimensions,
 * keys sorted. A record with the same hash as the one kept is a duplicate; another is a revision.
 */
export function usageHash(record: Pick<ProviderRecord, 'usage' | 'dimensions'>): string {
  const sorted = (o: Record<string, string>) =>
    Object.fromEntries(
      Object.keys(o)
        .sort()
        .map((k) => [k, o[k]]),
    );
  return createHash('sha256')
    .update(JSON.stringify([sorted(record.usage), sorted(record.dimensions)]))
    .digest('base64url')
    .slice(0, 32);
}

/**
 * Who reported a record: an organization key's organization, or `*` for platform keys. Each
 * importer's last report of a request is kept apart, so one can never see or overwrite
 * another's; effects stay exactly once whatever the importer (an adjustment charges the
 * difference from what the reservation was charged so far).
 */
export function importerOf(orgId: string | null): string {
  return orgId ?? '*';
}

export function providerRecordId(importer: string, environment: string, provider: string, requestId: string): string {
  return 'pur_' + createHash('sha256').update(`${importer}\n${environment}\n${provider}\n${requestId}`).digest('base64url').slice(0, 32);
}

/** What happened to one record of a run (or, for `unmatched_commit`, one commit with no record). */
export const RUN_ITEM_STATUSES = [
  'matched',
  'adjusted',
  'duplicate',
  'unmatched',
  'ambiguous',
  'unadjustable',
  'invalid',
  'failed',
] as const;
export type RunItemStatus = (typeof RUN_ITEM_STATUSES)[number];

export interface RunItem {
  position: number;
  status: RunItemStatus;
  provider: string | null;
  requestId: string | null;
  orgId: string | null;
  reservationId: string | null;
  chargedBefore: number | null;
  chargedAfter: number | null;
  delta: number | null;
  ledgerEntryId: string | null;
  eventIds: string[] | null;
  /** Why (unadjustable, ambiguous, failed, a duplicate in the batch). */
  detail: string | null;
  errors: FieldError[] | null;
  /** The record replaced an earlier, different report of the request. */
  revised?: boolean;
}

export interface UnmatchedCommit {
  org_id: string;
  reservation_id: string;
  provider: string;
  provider_request_id: string;
  amount: number;
  committed_at: string;
}

export interface RunSummary {
  records: number;
  matched: number;
  adjusted: number;
  duplicates: number;
  unmatched_records: number;
  ambiguous: number;
  unadjustable: number;
  invalid: number;
  failed: number;
  unmatched_commits: number;
  unmatched_commits_truncated: boolean;
  /** Net micro-credits the run's adjustments charged (positive) or credited back (negative). */
  adjusted_amount: number;
}

export interface ReconciliationRun {
  id: string;
  environment: 'live' | 'test';
  orgId: string | null;
  createdBy: string | null;
  source: 'json' | 'csv';
  summary: RunSummary;
  orgs: string[];
  unmatchedCommitAgeSeconds: number;
  unmatchedCommits: UnmatchedCommit[];
  createdAt: Date;
}

export function summarize(items: readonly RunItem[], unmatched: { count: number; truncated: boolean }): RunSummary {
  const count = (status: RunItemStatus) => items.filter((i) => i.status === status).length;
  return {
    records: items.length,
    matched: count('matched'),
    adjusted: count('adjusted'),
    duplicates: count('duplicate'),
    unmatched_records: count('unmatched'),
    ambiguous: count('ambiguous'),
    unadjustable: count('unadjustable'),
    invalid: count('invalid'),
    failed: count('failed'),
    unmatched_commits: unmatched.count,
    unmatched_commits_truncated: unmatched.truncated,
    adjusted_amount: items.reduce((sum, i) => sum + (i.status === 'adjusted' ? (i.delta ?? 0) : 0), 0),
  };
}
