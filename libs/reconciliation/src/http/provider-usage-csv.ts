import { parse } from 'csv-parse/sync';
import { FieldError } from '@tollgate/platform';
import { MAX_IMPORT_RECORDS, RawRecord } from '../domain/provider-usage';
import { ReconciliationError } from '../domain/reconciliation.error';

const FIXED = new Set(['provider', 'request_id', 'occurred_at']);
const USAGE = 'usage.';
const DIMENSIONS = 'dimensions.';

/**
 * The CSV shape of a provider usage import (README, decision 023): a header row naming
 * `provider`, `request_id`, `occurred_at`, one `usage.<dimension>` column per quantity and any
 * `dimensions.<key>` columns; RFC 4180 quoting. An empty cell leaves that dimension out of the
 * row. Each row becomes the JSON shape's record, numbered by the line it ends on (the header is
 * line 1), so errors name the line and the column.
 * A body that is not CSV at all, or a header that is not this shape, is 400 invalid_csv; a row
 * with the wrong number of cells is that row's error only.
 */
export function csvRecords(text: string): RawRecord[] {
  let rows: { record: string[]; info: { lines: number } }[];
  try {
    // Reading stops one row past the most an import takes (the header and 10,001 rows): a huge
    // body is refused without parsing all of it.
    rows = parse(text, {
      bom: true,
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
      trim: false,
      to: MAX_IMPORT_RECORDS + 2,
    }) as unknown as typeof rows;
  } catch (error) {
    throw new ReconciliationError('invalid_csv', `The body is not valid CSV: ${(error as Error).message.slice(0, 200)}`);
  }
  if (rows.length === 0) throw new ReconciliationError('invalid_csv', 'The body has no header row.');
  const header = rows[0].record.map((h) => h.trim());
  const problems = headerProblems(header);
  if (problems.length > 0) {
    throw new ReconciliationError(
      'invalid_csv',
      `The header row is not a provider usage header: ${problems.map((p) => p.message).join('; ')}`,
      {
        errors: problems,
      },
    );
  }
  if (rows.length - 1 > MAX_IMPORT_RECORDS) {
    throw new ReconciliationError(
      'too_many_records',
      `An import takes at most ${MAX_IMPORT_RECORDS.toLocaleString('en')} records; this one has more.`,
      {
        max_records: MAX_IMPORT_RECORDS,
      },
    );
  }
  return rows.slice(1).map(({ record, info }) => {
    const field = (member: string) => (member === '' ? `line ${info.lines}` : member);
    if (record.length !== header.length) {
      return {
        position: info.lines,
        value: null,
        field,
        errors: [{ field: 'row', message: `has ${record.length} cells; the header has ${header.length}` }],
      };
    }
    const value: Record<string, unknown> = {};
    const usage: Record<string, string> = {};
    const dimensions: Record<string, string> = {};
    header.forEach((column, i) => {
      const cell = record[i];
      if (column.startsWith(USAGE)) {
        if (cell.trim() !== '') usage[column.slice(USAGE.length)] = cell.trim();
      } else if (column.startsWith(DIMENSIONS)) {
        if (cell !== '') dimensions[column.slice(DIMENSIONS.length)] = cell;
      } else value[column] = cell;
    });
    value.usage = usage;
    if (Object.keys(dimensions).length > 0) value.dimensions = dimensions;
    return { position: info.lines, value, field };
  });
}

function headerProblems(header: string[]): FieldError[] {
  const problems: FieldError[] = [];
  for (const required of FIXED) {
    if (!header.includes(required)) problems.push({ field: 'header', message: `column '${required}' is missing` });
  }
  const seen = new Set<string>();
  for (const column of header) {
    if (seen.has(column)) problems.push({ field: 'header', message: `column '${column.slice(0, 80)}' appears twice` });
    seen.add(column);
    const known =
      FIXED.has(column) ||
      (column.startsWith(USAGE) && column.length > USAGE.length) ||
      (column.startsWith(DIMENSIONS) && column.length > DIMENSIONS.length);
    if (!known)
      problems.push({
        field: 'header',
        message: `column '${column.slice(0, 80)}' is not provider, request_id, occurred_at, usage.<dimension> or dimensions.<key>`,
      });
  }
  if (!header.some((c) => c.startsWith(USAGE))) problems.push({ field: 'header', message: 'no usage.<dimension> column' });
  return problems.slice(0, 20);
}
