import { IsIn, IsString, Matches } from 'class-validator';
import { OptionalField, PageQueryDto } from '@tollgate/platform';
import { RECEIPT_OUTCOMES, type ReceiptOutcome } from '../domain/webhook-receipt';
import { WEBHOOK_SOURCES, type WebhookSource } from '../domain/vendor-signal';

export class ReceiptsQueryDto extends PageQueryDto {
  @OptionalField()
  @IsIn(WEBHOOK_SOURCES)
  source?: WebhookSource;

  @OptionalField()
  @IsIn(RECEIPT_OUTCOMES)
  outcome?: ReceiptOutcome;

  /** A platform key's filter; an organization key always sees only its own. */
  @OptionalField()
  @IsString()
  @Matches(/^[A-Za-z0-9._:-]{1,128}$/, { message: 'org_id must be 1-128 letters, digits, ".", "_", "-" or ":"' })
  org_id?: string;
}
