import { Migration } from '@mikro-orm/migrations';

/**
 * A usage event names the ledger entry it was written with: a commit's events its commit row,
 * an adjustment's correction events its adjustment row (decision 023), so the finance export
 * and the invariant checks pair each entry with exactly its own events. Rows written before
 * are linked by the reservation (a commit) and the instant (an adjustment books its row and
 * its events at one instant).
 */
export class Migration20261205050000EventLedgerEntry extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table usage_events add column ledger_entry_id text null`);
    this.addSql(`
      update usage_events e set ledger_entry_id = l.id
        from usage_ledger l
       where l.reservation_id = e.reservation_id
         and ((e.kind = 'usage' and l.kind = 'commit') or (e.kind = 'correction' and l.kind = 'adjustment' and l.committed_at = e.occurred_at))`);
  }

  override async down(): Promise<void> {
    this.addSql('alter table usage_events drop column ledger_entry_id');
  }
}
