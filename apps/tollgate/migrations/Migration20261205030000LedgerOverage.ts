import { Migration } from '@mikro-orm/migrations';

/**
 * A commit's overage (what the overage policy charged above its hold) on its usage-ledger row
 * too, so the usage tree can show each node's overage in its current period from the ledger
 * alone. Overage is the exception, so a partial index keeps that read to the overrunning
 * commits, whatever the size of the ledger.
 */
export class Migration20261205030000LedgerOverage extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table usage_ledger add column overage bigint not null default 0 check (overage >= 0)`);
    this.addSql(`
      update usage_ledger l set overage = o.overage
        from reservation_outcomes o
       where o.reservation_id = l.reservation_id and o.overage > 0 and l.kind = 'commit'`);
    this.addSql(`create index usage_ledger_overage_idx on usage_ledger (org_id, environment) where overage > 0`);
  }

  override async down(): Promise<void> {
    this.addSql('drop index if exists usage_ledger_overage_idx');
    this.addSql('alter table usage_ledger drop column overage');
  }
}
