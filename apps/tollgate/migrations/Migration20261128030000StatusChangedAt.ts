import { Migration } from '@mikro-orm/migrations';

/** When an organization's status last changed: a past_due grace amount counts spend from then. */
export class Migration20261128030000StatusChangedAt extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table organizations add column status_changed_at timestamptz`);
    this.addSql(`update organizations set status_changed_at = updated_at`);
    this.addSql(`alter table organizations alter column status_changed_at set not null`);
  }

  override async down(): Promise<void> {
    this.addSql('alter table organizations drop column status_changed_at');
  }
}
