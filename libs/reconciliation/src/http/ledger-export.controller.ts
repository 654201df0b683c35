import { Controller, Get, Param, Query, Res, StreamableFile } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Readable } from 'node:stream';
import { PlatformError } from '@tollgate/platform';
import { CallContext, Caller, OrgPathDto, RequireScopes } from '@tollgate/tenancy';
import { exportFileName, exportWindowProblem } from '../domain/ledger-export';
import { ExportLedgerUseCase } from '../usecases/export-ledger/export-ledger.usecase';
import { LedgerExportQueryDto } from './ledger-export.dto';

const CONTENT_TYPES = { csv: 'text/csv; charset=utf-8', ndjson: 'application/x-ndjson' } as const;

/** Bytes the response stream buffers before it stops asking for the next page. */
const STREAM_HIGH_WATER_MARK = 64 * 1024;

/**
 * A readable over the export's chunks, pulled one at a time as the socket drains (backpressure:
 * no page is queried while the client is behind). Destroying it (the client went away, a HEAD
 * request, shutdown) returns the generator, which runs its cleanup and queries nothing more. A
 * failing query destroys it with the error, and Fastify then destroys the response: a client
 * sees a broken download, never an error document appended to the data.
 */
function chunkStream(first: string, chunks: AsyncGenerator<string>): Readable {
  let pending: string | null = first;
  return new Readable({
    highWaterMark: STREAM_HIGH_WATER_MARK,
    read() {
      if (pending !== null) {
        const chunk = pending;
        pending = null;
        this.push(chunk);
        return;
      }
      chunks.next().then(
        (next) => this.push(next.done ? null : next.value),
        (error: unknown) => this.destroy(error as Error),
      );
    },
    destroy(error, callback) {
      chunks.return(undefined).catch(() => undefined);
      callback(error);
    },
  });
}

@ApiTags('reconciliation')
@ApiBearerAuth()
@Controller('v1/orgs/:org')
export class LedgerExportController {
  constructor(private readonly exportLedger: ExportLedgerUseCase) {}

  @Get('ledger/export')
  @ApiOperation({
    summary: 'The usage ledger and its usage events, streamed for finance',
    description:
      'Every ledger entry committed in [from, to) of the caller’s environment with its usage events, ordered by committed_at ' +
      'then entry id. format=csv (default): one row per event line with the entry’s columns repeated, RFC 4180, a header row, ' +
      'amounts in micro-credits and exact credits, a formula guard on text cells; format=ndjson: one entry per line with its ' +
      'events nested. Both end with a summary (entry and event counts and totals): a file without it is incomplete. from and to ' +
      'are required, at most 400 days apart. See docs/ledger-export.md.',
  })
  @ApiProduces(CONTENT_TYPES.csv, CONTENT_TYPES.ndjson)
  @RequireScopes('read', 'quota:admin', 'billing:admin')
  async export(
    @Caller() ctx: CallContext,
    @Param() { org }: OrgPathDto,
    @Query() query: LedgerExportQueryDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<StreamableFile> {
    const problem = exportWindowProblem(query.from, query.to);
    if (problem) throw PlatformError.validation([{ field: 'to', message: problem }]);
    const format = query.format ?? 'csv';
    const { scope, chunks } = await this.exportLedger.execute(ctx, org, { from: query.from, to: query.to }, format);
    // The first chunk runs the first query here, before the status line is sent: a store that is
    // down still answers problem+json through the filter (test/outages.e2e-spec.ts), whatever
    // the HTTP layer would do with a stream that fails before its first byte.
    const first = await chunks.next();
    reply.header('Cache-Control', 'no-store').header('X-Content-Type-Options', 'nosniff');
    return new StreamableFile(chunkStream(first.done ? '' : first.value, chunks), {
      type: CONTENT_TYPES[format],
      disposition: `attachment; filename="${exportFileName(scope, format)}"`,
    });
  }
}
