import { ArrayMaxSize, ArrayMinSize, ArrayUnique, IsArray, IsIn, IsString, Matches, MaxLength } from 'class-validator';
import { NullableField, OptionalField, PageQueryDto } from '@tollgate/platform';
import { OrgPathDto } from '@tollgate/tenancy';
import { MAX_URL_LENGTH } from '../domain/address-guard';
import { OUTBOUND_EVENT_TYPES } from '../domain/webhook-message';

export class CreateWebhookEndpointDto {
  /** Absolute http(s) URL, no credentials; checked against private and loopback addresses (422 webhook_url_refused). */
  @IsString()
  @MaxLength(MAX_URL_LENGTH)
  url!: string;

  /** The event types to receive: a non-empty subset of the five. */
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(OUTBOUND_EVENT_TYPES.length)
  @ArrayUnique()
  @IsIn(OUTBOUND_EVENT_TYPES, { each: true, message: `each event type must be one of ${OUTBOUND_EVENT_TYPES.join(', ')}` })
  event_types!: string[];

  /** Free text; null or absent: none. */
  @NullableField()
  @IsString()
  @MaxLength(256)
  description?: string | null;
}

export class EndpointPathDto extends OrgPathDto {
  @IsString()
  @Matches(/^we_[A-Za-z0-9_-]{1,64}$/, { message: 'id is not a webhook endpoint id' })
  id!: string;
}

export class DeliveryPathDto extends OrgPathDto {
  /** `<event id>:<endpoint id>`. */
  @IsString()
  @MaxLength(512)
  @Matches(/^[A-Za-z0-9._:@-]+:we_[A-Za-z0-9_-]{1,64}$/, { message: 'id is not a webhook delivery id' })
  id!: string;
}

export class DeliveriesQueryDto extends PageQueryDto {
  @OptionalField()
  @IsIn(['pending', 'delivered', 'failed', 'dead'])
  status?: 'pending' | 'delivered' | 'failed' | 'dead';
}
