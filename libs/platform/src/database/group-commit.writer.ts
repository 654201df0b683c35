import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { MicroBatcher } from './micro-batcher';

/** One row for one table. `conflictKey` names a unique column: a row already there is a conflict, not an error. */
export interface RowInsert {
  table: string;
  row: Record<string, unknown>;
  conflictKey?: string;
}

export type InsertResult = 'inserted' | 'conflict';

const MAX_UNITS_PER_FLUSH = 500;

/**
 * Group commit for the admission path: rows written by concurrent requests while a flush is
 * running go out together in the next one (MicroBatcher), one multi-row INSERT per table in one
 * statement, so a burst of N admissions costs about one round trip instead of N. A caller's
 * promise resolves only once its rows are committed (durable before answered).
 * Conflicts are reported per row (ON CONFLICT DO NOTHING … RETURNING) so one duplicate never fails a batch.
 */
@Injectable()
export class GroupCommitWriter {
  private readonly batcher = new MicroBatcher<RowInsert[], InsertResult[]>((units) => this.flush(units), MAX_UNITS_PER_FLUSH);

  constructor(private readonly em: EntityManager) {}

  /** Inserts the rows, all in the same transaction; one result per row, in order. */
  write(rows: RowInsert[]): Promise<InsertResult[]> {
    return this.batcher.submit(rows);
  }

  private async flush(batch: RowInsert[][]): Promise<InsertResult[][]> {
    // Rows grouped by table, in the order tables first appear (parents before children).
    const tables = new Map<string, { conflictKey?: string; entries: { unit: number; index: number; row: Record<string, unknown> }[] }>();
    batch.forEach((unit, u) =>
      unit.forEach((insert, index) => {
        const group = tables.get(insert.table) ?? { conflictKey: insert.conflictKey, entries: [] };
        group.entries.push({ unit: u, index, row: insert.row });
        tables.set(insert.table, group);
      }),
    );
    const results = batch.map((unit) => unit.map((): InsertResult => 'inserted'));
    // One statement for the whole batch: each table's multi-row INSERT is a data-modifying CTE,
    // so the batch is atomic without BEGIN/COMMIT, and costs one round trip.
    const params: unknown[] = [];
    const ctes: string[] = [];
    const selects: string[] = [];
    const groups = [...tables.entries()];
    groups.forEach(([table, { conflictKey, entries }], t) => {
      const columns = Object.keys(entries[0].row);
      const tuples = entries.map(({ row }) => {
        for (const column of columns) {
          const value = row[column];
          params.push(value !== null && typeof value === 'object' && !(value instanceof Date) ? JSON.stringify(value) : value);
        }
        return `(${columns.map(() => '?').join(', ')})`;
      });
      const returning = conflictKey
        ? `on conflict (${conflictKey}) do nothing returning ${conflictKey}::text as k`
        : `returning null::text as k`;
      ctes.push(`t${t} as (insert into ${table} (${columns.join(', ')}) values ${tuples.join(', ')} ${returning})`);
      selects.push(`select ${t} as t, k from t${t}`);
    });
    const inserted = await this.em
      .getConnection()
      .execute<{ t: number; k: string | null }[]>(`with ${ctes.join(', ')} ${selects.join(' union all ')}`, params);
    groups.forEach(([, { conflictKey, entries }], t) => {
      if (!conflictKey) return;
      const kept = new Set(inserted.filter((r) => Number(r.t) === t).map((r) => String(r.k)));
      // Two rows with one key in a batch: the first is inserted, the second is a conflict.
      const claimed = new Set<string>();
      for (const { unit, index, row } of entries) {
        const key = String(row[conflictKey]);
        if (!kept.has(key) || claimed.has(key)) results[unit][index] = 'conflict';
        claimed.add(key);
      }
    });
    return results;
  }
}
