import { Type } from 'class-transformer';
import { IsDate, IsIn } from 'class-validator';
import { OptionalField } from '@tollgate/platform';
import { LEDGER_EXPORT_FORMATS, LedgerExportFormat } from '../domain/ledger-export';

export class LedgerExportQueryDto {
  /** Inclusive; required (an export is a bounded window, at most 400 days). */
  @Type(() => Date)
  @IsDate({ message: 'from must be an RFC 3339 date-time' })
  from!: Date;

  /** Exclusive; required. */
  @Type(() => Date)
  @IsDate({ message: 'to must be an RFC 3339 date-time' })
  to!: Date;

  /** Default csv. */
  @OptionalField()
  @IsIn(LEDGER_EXPORT_FORMATS, { message: 'format must be csv or ndjson' })
  format?: LedgerExportFormat;
}
