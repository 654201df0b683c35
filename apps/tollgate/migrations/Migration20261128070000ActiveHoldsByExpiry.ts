import { Migration } from '@mikro-orm/migrations';

/**
 * A rebuild finds an organization's active holds by expiry (ReservationRepository.activeHolds):
 * only holds expiring in the future are read, not the organization's whole history.
 */
export class Migration20261128070000ActiveHoldsByExpiry extends Migration {
  override async up(): Promise<void> {
    this.addSql('create index reservations_expiry_idx on reservations (org_id, environment, expires_at)');
    this.addSql('create index reservation_extensions_expiry_idx on reservation_extensions (expires_at)');
  }

  override async down(): Promise<void> {
    this.addSql('drop index reservations_expiry_idx, reservation_extensions_expiry_idx');
  }
}
