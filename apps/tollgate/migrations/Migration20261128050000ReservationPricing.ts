import { Migration } from '@mikro-orm/migrations';

/**
 * How a priced reservation was priced (product, dimensions, the rates in force, the lines),
 * recorded with the hold so its commit is priced at the same rates whatever changes later.
 */
export class Migration20261128050000ReservationPricing extends Migration {
  override async up(): Promise<void> {
    this.addSql('alter table reservations add column pricing jsonb');
  }

  override async down(): Promise<void> {
    this.addSql('alter table reservations drop column pricing');
  }
}
