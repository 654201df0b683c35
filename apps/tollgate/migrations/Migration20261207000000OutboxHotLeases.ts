import { Migration } from '@mikro-orm/migrations';

/**
 * Decision 026. The outbox as a queue that Postgres can update cheaply: a lease writes only
 * columns no index covers (`leased_until`, `lease_id`, `attempts`, `last_attempt_at`), so it is a
 * HOT update (no index entry, pruned on the page) where it rewrote every index of the row before;
 * pages keep room for it (fillfactor 50); and `usage_outbox_due_idx`, which every dispatch query
 * could serve from `usage_outbox_dispatch_idx` (they all name the destination), stops costing
 * each insert and update (the commit's outbox row included) an index entry. The outbox figures
 * (metrics, /health/ready) read dead deliveries through their own small index instead of
 * scanning the whole outbox history once a second. The unique (event_id, destination) index
 * gives way to a check that the primary key is `<event id>:<destination>`, which makes the key
 * carry the same uniqueness: one index fewer to write for every outbox row and update.
 */
export class Migration20261207000000OutboxHotLeases extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table usage_outbox add column leased_until timestamptz null`);
    this.addSql(`alter table usage_outbox set (fillfactor = 50)`);
    this.addSql(`drop index if exists usage_outbox_due_idx`);
    this.addSql(`create index usage_outbox_dead_idx on usage_outbox (destination) where status = 'dead'`);
    this.addSql(`alter table usage_outbox add constraint usage_outbox_id_check check (id = event_id || ':' || destination)`);
    this.addSql(`alter table usage_outbox drop constraint usage_outbox_event_id_destination_key`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table usage_outbox add constraint usage_outbox_event_id_destination_key unique (event_id, destination)`);
    this.addSql(`alter table usage_outbox drop constraint usage_outbox_id_check`);
    this.addSql(`drop index if exists usage_outbox_dead_idx`);
    this.addSql(`create index usage_outbox_due_idx on usage_outbox (next_attempt_at) where status in ('pending', 'failed')`);
    this.addSql(`alter table usage_outbox reset (fillfactor)`);
    this.addSql(`alter table usage_outbox drop column leased_until`);
  }
}
