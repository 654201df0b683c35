import { Migration20261128000000Foundation } from './Migration20261128000000Foundation';
import { Migration20261128010000Hierarchy } from './Migration20261128010000Hierarchy';
import { Migration20261128020000Reservations } from './Migration20261128020000Reservations';
import { Migration20261128030000StatusChangedAt } from './Migration20261128030000StatusChangedAt';
import { Migration20261128040000RateCards } from './Migration20261128040000RateCards';
import { Migration20261128050000ReservationPricing } from './Migration20261128050000ReservationPricing';
import { Migration20261128060000UsageQuantities } from './Migration20261128060000UsageQuantities';
import { Migration20261128070000ActiveHoldsByExpiry } from './Migration20261128070000ActiveHoldsByExpiry';
import { Migration20261201000000PeriodCountersAndScopes } from './Migration20261201000000PeriodCountersAndScopes';
import { Migration20261201010000UsageEvents } from './Migration20261201010000UsageEvents';
import { Migration20261201020000LedgerNeedsCommit } from './Migration20261201020000LedgerNeedsCommit';
import { Migration20261205000000LedgerRollups } from './Migration20261205000000LedgerRollups';
import { Migration20261205010000ProviderUsage } from './Migration20261205010000ProviderUsage';
import { Migration20261205020000LedgerExport } from './Migration20261205020000LedgerExport';
import { Migration20261205030000LedgerOverage } from './Migration20261205030000LedgerOverage';
import { Migration20261205040000BillingRouting } from './Migration20261205040000BillingRouting';
import { Migration20261205050000EventLedgerEntry } from './Migration20261205050000EventLedgerEntry';
import { Migration20261207000000OutboxHotLeases } from './Migration20261207000000OutboxHotLeases';
import { Migration20261207010000WebhookEvents } from './Migration20261207010000WebhookEvents';
import { Migration20261207020000WebhookEndpoints } from './Migration20261207020000WebhookEndpoints';

/** Every migration, in order. Listed explicitly so the built and the ts-jest runs see the same set. */
export const MIGRATIONS = [
  { name: 'Migration20261128000000Foundation', class: Migration20261128000000Foundation },
  { name: 'Migration20261128010000Hierarchy', class: Migration20261128010000Hierarchy },
  { name: 'Migration20261128020000Reservations', class: Migration20261128020000Reservations },
  { name: 'Migration20261128030000StatusChangedAt', class: Migration20261128030000StatusChangedAt },
  { name: 'Migration20261128040000RateCards', class: Migration20261128040000RateCards },
  { name: 'Migration20261128050000ReservationPricing', class: Migration20261128050000ReservationPricing },
  { name: 'Migration20261128060000UsageQuantities', class: Migration20261128060000UsageQuantities },
  { name: 'Migration20261128070000ActiveHoldsByExpiry', class: Migration20261128070000ActiveHoldsByExpiry },
  { name: 'Migration20261201000000PeriodCountersAndScopes', class: Migration20261201000000PeriodCountersAndScopes },
  { name: 'Migration20261201010000UsageEvents', class: Migration20261201010000UsageEvents },
  { name: 'Migration20261201020000LedgerNeedsCommit', class: Migration20261201020000LedgerNeedsCommit },
  { name: 'Migration20261205000000LedgerRollups', class: Migration20261205000000LedgerRollups },
  { name: 'Migration20261205010000ProviderUsage', class: Migration20261205010000ProviderUsage },
  { name: 'Migration20261205020000LedgerExport', class: Migration20261205020000LedgerExport },
  { name: 'Migration20261205030000LedgerOverage', class: Migration20261205030000LedgerOverage },
  { name: 'Migration20261205040000BillingRouting', class: Migration20261205040000BillingRouting },
  { name: 'Migration20261205050000EventLedgerEntry', class: Migration20261205050000EventLedgerEntry },
  { name: 'Migration20261207000000OutboxHotLeases', class: Migration20261207000000OutboxHotLeases },
  { name: 'Migration20261207010000WebhookEvents', class: Migration20261207010000WebhookEvents },
  { name: 'Migration20261207020000WebhookEndpoints', class: Migration20261207020000WebhookEndpoints },
];
