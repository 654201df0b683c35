import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';

/** One row for one table. `conflictKey` names a unique column: a row already there is a conflict, not an error. */
export interface RowInsert {
  table: string;
  row: Record<string, unknown>;
  conflictKey?: string;
}

export type InsertResult = 'inserted' | 'conflict';

interface Pending {
  rows: RowInsert[];
  resolve: (results: InsertResult[]) => void;
  reject: (error: unknown) => void;
}

const MAX_UNITS_PER_FLUSH = 500;

/**
 * Group commit for the admission path: rows written by concurrent requests while a flush is
 * running go out together in the next one, one multi-row INSERT per table in one transaction,
 * so a burst of N admissions costs about one round trip instead of N. A caller's promise
 * resolves only once its rows are committed (durable before answered).
 * Written here rather than taken from a library: it is the hot path, and conflicts must be
 * reported per row (ON CONFLICT DO NOTHING … RETURNING) so one duplicate never fails a batch.
 */
@Injectable()
export class GroupCommitWriter {
  private queue: Pending[] = [];
  private flushing = false;

  constructor(private readonly em: EntityManager) {}

  /** Inserts the rows, all in the same transaction; one result per row, in order. */
  write(rows: RowInsert[]): Promise<InsertResult[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ rows, resolve, reject });
      if (!this.flushing) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, MAX_UNITS_PER_FLUSH);
        try {
          const results = await this.flush(batch);
          batch.forEach((unit, i) => unit.resolve(results[i]));
        } catch (error) {
          if (batch.length === 1) {
            batch[0].reject(error);
            continue;
          }
          // One bad unit must not fail the others: retry each alone.
          for (const unit of batch) {
            try {
              unit.resolve((await this.flush([unit]))[0]);
            } catch (unitError) {
              unit.reject(unitError);
            }
          }
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  private async flush(batch: Pending[]): Promise<InsertResult[][]> {
    // Rows grouped by table, in the order tables first appear (parents before children).
    const tables = new Map<string, { conflictKey?: string; entries: { unit: number; index: number; row: Record<string, unknown> }[] }>();
    batch.forEach((unit, u) =>
      unit.rows.forEach((insert, index) => {
        const group = tables.get(insert.table) ?? { conflictKey: insert.conflictKey, entries: [] };
        group.entries.push({ unit: u, index, row: insert.row });
        tables.set(insert.table, group);
      }),
    );
    const results = batch.map((unit) => unit.rows.map((): InsertResult => 'inserted'));
    await this.em.fork().transactional(async (tx) => {
      const connection = tx.getConnection();
      for (const [table, { conflictKey, entries }] of tables) {
        const columns = Object.keys(entries[0].row);
        const params: unknown[] = [];
        const tuples = entries.map(({ row }) => {
          for (const column of columns) {
            const value = row[column];
            params.push(value !== null && typeof value === 'object' && !(value instanceof Date) ? JSON.stringify(value) : value);
          }
          return `(${columns.map(() => '?').join(', ')})`;
        });
        let sql = `insert into ${table} (${columns.join(', ')}) values ${tuples.join(', ')}`;
        if (conflictKey) sql += ` on conflict (${conflictKey}) do nothing returning ${conflictKey} as k`;
        const inserted = await connection.execute<{ k: string }[]>(sql, params, 'all', tx.getTransactionContext());
        if (!conflictKey) continue;
        const kept = new Set(inserted.map((r) => String(r.k)));
        // Two rows with one key in a batch: the first is inserted, the second is a conflict.
        const claimed = new Set<string>();
        for (const { unit, index, row } of entries) {
          const key = String(row[conflictKey]);
          if (!kept.has(key) || claimed.has(key)) results[unit][index] = 'conflict';
          claimed.add(key);
        }
      }
    });
    return results;
  }
}
