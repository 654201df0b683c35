import { Migration } from '@mikro-orm/migrations';

/**
 * Decision 022. The finance export reads an organization's ledger in keyset pages ordered by
 * (committed_at, id): with `id` in the index (code-point order, as the export compares it) a
 * page is one index range scan from the last position. Without it, Postgres sorted every row
 * from the position to the window's end for each page (a month of 200,000 entries: about 0.5 s
 * a page, quadratic overall). It replaces the (org_id, environment, committed_at) index, which it
 * covers for the variance and spend reads, so a commit still updates as many indexes.
 */
export class Migration20261205020000LedgerExport extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create index usage_ledger_export_idx on usage_ledger (org_id, environment, committed_at, id collate "C")`);
    this.addSql(`drop index usage_ledger_committed_idx`);
  }

  override async down(): Promise<void> {
    this.addSql(`create index usage_ledger_committed_idx on usage_ledger (org_id, environment, committed_at)`);
    this.addSql(`drop index usage_ledger_export_idx`);
  }
}
