import { IsIn } from 'class-validator';
import { OptionalField } from '@tollgate/platform';
import { LEDGER_EXPORT_FORMATS, LedgerExportFormat } from '../domain/ledger-export';
import { RequiredWindowQueryDto } from './reconciliation.dto';

/** from and to are required: an export is a bounded window, at most 400 days. */
export class LedgerExportQueryDto extends RequiredWindowQueryDto {
  /** Default csv. */
  @OptionalField()
  @IsIn(LEDGER_EXPORT_FORMATS, { message: 'format must be csv or ndjson' })
  format?: LedgerExportFormat;
}
