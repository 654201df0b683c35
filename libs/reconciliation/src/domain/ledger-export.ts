/**
 * The finance export of the usage ledger (docs/ledger-export.md): every ledger entry of a window
 * with its usage events, as CSV (one row per event line) or NDJSON (one line per entry, its
 * events nested), each ending with a summary a reader checks to know the file is complete.
 * Pure formatting: the rows come from Postgres page by page, and nothing here holds more than
 * one page.
 */
export type LedgerExportFormat = 'csv' | 'ndjson';
export const LEDGER_EXPORT_FORMATS: readonly LedgerExportFormat[] = ['csv', 'ndjson'];

/** A month of a large organization is the use; a year and a month for a late close or an audit. */
export const MAX_EXPORT_WINDOW_DAYS = 400;

const DAY_MS = 86_400_000;

/** Why a window cannot be exported (`to` not after `from`, or too long), or null when it can. */
export function exportWindowProblem(from: Date, to: Date): string | null {
  if (from.getTime() >= to.getTime()) return 'to must be after from';
  if (to.getTime() - from.getTime() > MAX_EXPORT_WINDOW_DAYS * DAY_MS)
    return `to must be at most ${MAX_EXPORT_WINDOW_DAYS} days after from`;
  return null;
}

/**
 * Amounts travel as the decimal strings Postgres gives for `bigint` (micro-credits), so no
 * float ever touches them and a sum past 2^53 stays exact.
 */
export interface ExportEvent {
  id: string;
  kind: string;
  line: number;
  dimension: string | null;
  dimensions: Record<string, string>;
  quantity: string;
  amount: string;
  estimate: string | null;
  actual: string | null;
  variance: string | null;
  rateCardId: string | null;
  rateId: string | null;
  /** RFC 3339 UTC, milliseconds. */
  occurredAt: string;
  recordedAt: string;
}

export interface ExportEntry {
  id: string;
  /** `commit` today; `adjustment` for the correcting entries of provider-usage reconciliation. */
  kind: string;
  reservationId: string;
  orgId: string;
  environment: string;
  projectId: string;
  userId: string;
  product: string | null;
  amount: string;
  estimate: string | null;
  actual: string | null;
  variance: string | null;
  provider: string | null;
  providerRequestId: string | null;
  committedAt: string;
  periods: { day?: string; week?: string; month?: string };
  events: ExportEvent[];
}

/** Micro-credits (an integer in decimal, possibly negative) as credits with six decimals, by string math: "-52020" → "-0.052020". */
export function microsToCredits(micros: string | number | bigint): string {
  const text = String(micros);
  if (!/^-?\d+$/.test(text)) throw new Error(`not an integer amount of micro-credits: ${text}`);
  const negative = text.startsWith('-');
  const digits = (negative ? text.slice(1) : text).replace(/^0+(?=\d)/, '').padStart(7, '0');
  const credits = `${digits.slice(0, -6)}.${digits.slice(-6)}`;
  return negative && /[1-9]/.test(digits) ? `-${credits}` : credits;
}

/** What the export wrote, for its summary: a reader compares these with what it read. */
export class ExportTotals {
  entries = 0;
  events = 0;
  /** Sum of the entries' amounts. */
  amount = 0n;
  /** Sum of the events' amounts (equal to `amount` unless entries older than usage events are in the window). */
  eventsAmount = 0n;

  add(entry: ExportEntry): void {
    this.entries += 1;
    this.amount += BigInt(entry.amount);
    for (const event of entry.events) {
      this.events += 1;
      this.eventsAmount += BigInt(event.amount);
    }
  }
}

export interface ExportScope {
  orgId: string;
  environment: string;
  from: Date;
  to: Date;
}

// ---- CSV ----------------------------------------------------------------------------------

type Cell = string | number | null | undefined;
/** `text` cells carry values a client chose (ids, dimension values, provider names) and get the formula guard; `number` cells never do. */
type ColumnType = 'text' | 'number';

const COLUMNS: readonly (readonly [string, ColumnType])[] = [
  ['record_type', 'text'],
  ['entry_id', 'text'],
  ['entry_kind', 'text'],
  ['reservation_id', 'text'],
  ['org_id', 'text'],
  ['environment', 'text'],
  ['project_id', 'text'],
  ['user_id', 'text'],
  ['committed_at', 'text'],
  ['period_day', 'text'],
  ['period_week', 'text'],
  ['period_month', 'text'],
  ['product', 'text'],
  ['entry_amount_micros', 'number'],
  ['entry_amount_credits', 'number'],
  ['entry_estimate_micros', 'number'],
  ['entry_actual_micros', 'number'],
  ['entry_variance_micros', 'number'],
  ['provider', 'text'],
  ['provider_request_id', 'text'],
  ['event_id', 'text'],
  ['event_kind', 'text'],
  ['line', 'number'],
  ['dimension', 'text'],
  ['dimensions', 'text'],
  ['quantity', 'number'],
  ['amount_micros', 'number'],
  ['amount_credits', 'number'],
  ['estimate_micros', 'number'],
  ['actual_micros', 'number'],
  ['variance_micros', 'number'],
  ['rate_card_id', 'text'],
  ['rate_id', 'text'],
  ['occurred_at', 'text'],
  ['recorded_at', 'text'],
  ['entries', 'number'],
  ['events', 'number'],
];

/** The CSV header, in order; docs/ledger-export.md describes each column. */
export const LEDGER_CSV_COLUMNS: readonly string[] = COLUMNS.map(([name]) => name);
/** The columns a spreadsheet could read as a formula, and so get the guard. */
export const LEDGER_CSV_TEXT_COLUMNS: readonly string[] = COLUMNS.filter(([, type]) => type === 'text').map(([name]) => name);

const TYPES = COLUMNS.map(([, type]) => type);
const NEEDS_QUOTES = /[",\r\n]/;
/** What spreadsheets start a formula with (OWASP's list), and the guard's own quote so the guard stays reversible. */
const FORMULA_START = /^[=+\-@\t\r']/;

/**
 * RFC 4180 quoting (a cell with a comma, quote, CR or LF is quoted, quotes doubled) after the
 * formula guard: a text cell starting with = + - @ TAB CR or ' gets one more ' in front. A
 * reader undoes it exactly by dropping one leading ' from a text cell that has one.
 */
function csvCell(value: Cell, type: ColumnType): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (type === 'text' && FORMULA_START.test(text)) text = `'${text}`;
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Cells from column `offset` on, joined (no line end). */
function csvCells(cells: Cell[], offset = 0): string {
  let text = '';
  for (let i = 0; i < cells.length; i++) text += (i > 0 ? ',' : '') + csvCell(cells[i], TYPES[offset + i]);
  return text;
}

/** Every row has every column (RFC 4180): the cells not given are empty. */
function csvRow(cells: Cell[]): string {
  return csvCells(cells) + ','.repeat(COLUMNS.length - cells.length) + '\r\n';
}

export function csvHeader(): string {
  return LEDGER_CSV_COLUMNS.join(',') + '\r\n';
}

function entryCells(entry: ExportEntry): Cell[] {
  return [
    entry.events.length > 0 ? 'event' : 'entry',
    entry.id,
    entry.kind,
    entry.reservationId,
    entry.orgId,
    entry.environment,
    entry.projectId,
    entry.userId,
    entry.committedAt,
    entry.periods.day,
    entry.periods.week,
    entry.periods.month,
    entry.product,
    entry.amount,
    microsToCredits(entry.amount),
    entry.estimate,
    entry.actual,
    entry.variance,
    entry.provider,
    entry.providerRequestId,
  ];
}

/** One row per event line of the entry (the entry's columns repeated), or one `entry` row when it has no events. */
export function csvEntryRows(entry: ExportEntry): string {
  const cells = entryCells(entry);
  if (entry.events.length === 0) return csvRow(cells);
  // The entry's columns are formatted once and repeated on each of its lines.
  const head = csvCells(cells) + ',';
  let rows = '';
  for (const e of entry.events) {
    const line: Cell[] = [
      e.id,
      e.kind,
      e.line,
      e.dimension,
      JSON.stringify(e.dimensions),
      e.quantity,
      e.amount,
      microsToCredits(e.amount),
      e.estimate,
      e.actual,
      e.variance,
      e.rateCardId,
      e.rateId,
      e.occurredAt,
      e.recordedAt,
    ];
    rows += head + csvCells(line, cells.length) + ','.repeat(COLUMNS.length - cells.length - line.length) + '\r\n';
  }
  return rows;
}

/** The last row: record_type `summary`, the entry totals in the entry amount columns, the event totals in the line amount columns, and the counts. */
export function csvSummaryRow(scope: ExportScope, totals: ExportTotals): string {
  const cells: Cell[] = new Array(COLUMNS.length).fill(null);
  const set = (column: string, value: Cell) => (cells[LEDGER_CSV_COLUMNS.indexOf(column)] = value);
  set('record_type', 'summary');
  set('org_id', scope.orgId);
  set('environment', scope.environment);
  set('entry_amount_micros', totals.amount.toString());
  set('entry_amount_credits', microsToCredits(totals.amount));
  set('amount_micros', totals.eventsAmount.toString());
  set('amount_credits', microsToCredits(totals.eventsAmount));
  set('entries', totals.entries);
  set('events', totals.events);
  return csvRow(cells);
}

// ---- NDJSON -------------------------------------------------------------------------------

/** A bigint column as a JSON number (they are at most 2^53 − 1 per row, so exact). */
const num = (value: string | null) => (value === null ? null : Number(value));

export function ndjsonEntryLine(entry: ExportEntry): string {
  return (
    JSON.stringify({
      type: 'entry',
      id: entry.id,
      kind: entry.kind,
      reservation_id: entry.reservationId,
      org_id: entry.orgId,
      environment: entry.environment,
      project_id: entry.projectId,
      user_id: entry.userId,
      committed_at: entry.committedAt,
      periods: entry.periods,
      product: entry.product,
      amount: num(entry.amount),
      amount_credits: microsToCredits(entry.amount),
      estimate: num(entry.estimate),
      actual: num(entry.actual),
      variance: num(entry.variance),
      provider: entry.provider,
      provider_request_id: entry.providerRequestId,
      events: entry.events.map((e) => ({
        id: e.id,
        kind: e.kind,
        line: e.line,
        dimension: e.dimension,
        dimensions: e.dimensions,
        quantity: e.quantity,
        amount: num(e.amount),
        amount_credits: microsToCredits(e.amount),
        estimate: num(e.estimate),
        actual: num(e.actual),
        variance: num(e.variance),
        rate_card_id: e.rateCardId,
        rate_id: e.rateId,
        occurred_at: e.occurredAt,
        recorded_at: e.recordedAt,
      })),
    }) + '\n'
  );
}

/** The last line. Totals are written as JSON integers from bigint, digit for digit. */
export function ndjsonSummaryLine(scope: ExportScope, totals: ExportTotals): string {
  const head = JSON.stringify({
    type: 'summary',
    org_id: scope.orgId,
    environment: scope.environment,
    from: scope.from.toISOString(),
    to: scope.to.toISOString(),
    entries: totals.entries,
    events: totals.events,
  });
  return (
    `${head.slice(0, -1)},"amount":${totals.amount},"amount_credits":"${microsToCredits(totals.amount)}",` +
    `"events_amount":${totals.eventsAmount},"events_amount_credits":"${microsToCredits(totals.eventsAmount)}"}\n`
  );
}

/** `ledger_<org>_<env>_<from>_<to>.<format>`, times compact (`20261101T000000Z`), nothing a file system or header refuses. */
export function exportFileName(scope: ExportScope, format: LedgerExportFormat): string {
  const compact = (d: Date) =>
    d
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z');
  const org = scope.orgId.replace(/[^A-Za-z0-9._-]/g, '_');
  return `ledger_${org}_${scope.environment}_${compact(scope.from)}_${compact(scope.to)}.${format === 'csv' ? 'csv' : 'ndjson'}`;
}

/**
 * The whole document from pages of entries: header, rows, summary. One page's text at a time,
 * so the caller's stream holds a page, not the export.
 */
export async function* formatLedgerExport(
  pages: AsyncIterable<ExportEntry[]>,
  scope: ExportScope,
  format: LedgerExportFormat,
): AsyncGenerator<string> {
  const totals = new ExportTotals();
  // The header goes out with the first page, so the first read of this generator runs the first
  // query: a caller that awaits it can still answer an error as problem+json, before any byte.
  let chunk = format === 'csv' ? csvHeader() : '';
  for await (const page of pages) {
    for (const entry of page) {
      totals.add(entry);
      chunk += format === 'csv' ? csvEntryRows(entry) : ndjsonEntryLine(entry);
    }
    if (chunk) yield chunk;
    chunk = '';
  }
  yield chunk + (format === 'csv' ? csvSummaryRow(scope, totals) : ndjsonSummaryLine(scope, totals));
}
