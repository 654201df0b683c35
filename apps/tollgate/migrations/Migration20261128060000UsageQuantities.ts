import { Migration } from '@mikro-orm/migrations';

/**
 * What a priced commit used (product, usage per dimension) and the billing period it counts
 * in: rates whose tiers count the period are rebuilt from these sums.
 */
export class Migration20261128060000UsageQuantities extends Migration {
  override async up(): Promise<void> {
    this.addSql('alter table usage_ledger add column product text, add column usage jsonb, add column quantity_period text');
    this.addSql(
      'create index usage_ledger_quantities_idx on usage_ledger (org_id, environment, quantity_period) where product is not null',
    );
  }

  override async down(): Promise<void> {
    this.addSql('alter table usage_ledger drop column product, drop column usage, drop column quantity_period');
  }
}
