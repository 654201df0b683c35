import { Injectable } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { MetricsService } from '@tollgate/platform';
import { CallContext, GetOrganizationUseCase } from '@tollgate/tenancy';
import { LedgerExportRepository } from '../../adapters/mikro-orm/ledger-export.repository';
import { ExportEntry, ExportScope, formatLedgerExport, LedgerExportFormat } from '../../domain/ledger-export';

/** Entries per query: a page's rows and text are what the export holds, a few MB at most. */
export const EXPORT_PAGE_SIZE = 2_000;

/**
 * The finance export of an organization's ledger in the caller's environment: the document's
 * text, page by page. Nothing is read before the first chunk is asked for, and asking stops
 * the queries: a consumer that stops reading (a client that went away) ends it.
 */
@Injectable()
export class ExportLedgerUseCase {
  private readonly inFlight: Gauge;
  private readonly entries: Counter<'format'>;

  constructor(
    private readonly organizations: GetOrganizationUseCase,
    private readonly ledger: LedgerExportRepository,
    metrics: MetricsService,
  ) {
    this.inFlight = new Gauge({
      name: 'tollgate_ledger_exports_in_flight',
      help: 'Ledger exports streaming now',
      registers: [metrics.registry],
    });
    this.entries = new Counter({
      name: 'tollgate_ledger_export_entries_total',
      help: 'Ledger entries written by ledger exports, by format',
      labelNames: ['format'] as const,
      registers: [metrics.registry],
    });
  }

  async execute(
    ctx: CallContext,
    orgId: string,
    window: { from: Date; to: Date },
    format: LedgerExportFormat,
  ): Promise<{ scope: ExportScope; chunks: AsyncGenerator<string> }> {
    // 404 for an organization the caller may not see (or that does not exist).
    await this.organizations.execute(ctx, orgId);
    const scope: ExportScope = { orgId, environment: ctx.principal.environment, ...window };
    return { scope, chunks: formatLedgerExport(this.counted(scope, format), scope, format) };
  }

  private async *counted(scope: ExportScope, format: LedgerExportFormat): AsyncGenerator<ExportEntry[]> {
    this.inFlight.inc();
    try {
      for await (const page of this.ledger.pages(scope, EXPORT_PAGE_SIZE)) {
        this.entries.inc({ format }, page.length);
        yield page;
      }
    } finally {
      this.inFlight.dec();
    }
  }
}
