import { CLIENT_ID_PATTERN } from '@tollgate/tenancy';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsObject,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateNested,
} from 'class-validator';
import { IntersectionType } from '@nestjs/swagger';
import { FieldError, fieldPath, microCredits, OptionalField, PlatformError, wholeNumber } from '@tollgate/platform';
import { AdmissionRequest } from '../usecases/admission-pricing';

const MAX_AMOUNT = Number.MAX_SAFE_INTEGER;
/** One message per integer field, whatever is wrong with it (see wholeNumber). */
const AMOUNT = microCredits(1);
const ACTUAL_AMOUNT = microCredits(0);
const TTL = wholeNumber(1, 86_400);
const PAGE_SIZE = wholeNumber(1, 200);
const ID = CLIENT_ID_PATTERN;
const ID_MESSAGE = 'must be 1-128 letters, digits, ".", "_", "-" or ":"';
const NAME = /^[a-zA-Z0-9._:-]{1,64}$/;
const NAME_MESSAGE = 'must be 1-64 letters, digits, ".", "_", "-" or ":"';

/** Who the money is held for. */
export class HolderFields {
  @Matches(ID, { message: `org_id ${ID_MESSAGE}` })
  org_id: string;

  @Matches(ID, { message: `project_id ${ID_MESSAGE}` })
  project_id: string;

  @Matches(ID, { message: `user_id ${ID_MESSAGE}` })
  user_id: string;
}

/** What to hold: a raw `amount`, or a `product` with its estimated `usage` to price (checked by toAdmissionRequest). */
export class OperationFields {
  /** Micro-credits to hold (a raw amount), instead of product and usage. */
  @OptionalField()
  @IsInt(AMOUNT)
  @Min(1, AMOUNT)
  @Max(MAX_AMOUNT, AMOUNT)
  amount?: number;

  /** A product of the organization's rate card (`video.generate`). */
  @OptionalField()
  @Matches(NAME, { message: `product ${NAME_MESSAGE}` })
  product?: string;

  /** Estimated quantity per usage dimension (`{"video_seconds": 8}`): numbers or decimal strings. */
  @OptionalField()
  @IsObject()
  usage?: Record<string, number | string>;

  /** Request dimensions the rates match (`{"resolution": "1080p"}`). */
  @OptionalField()
  @IsObject()
  dimensions?: Record<string, string>;

  /** Within the organization's max_ttl_seconds; default its default_ttl_seconds. */
  @OptionalField()
  @IsInt(TTL)
  @Min(1, TTL)
  @Max(86_400, TTL)
  ttl_seconds?: number;

  @OptionalField()
  @IsObject()
  metadata?: Record<string, unknown>;
}

export class ReserveDto extends IntersectionType(HolderFields, OperationFields) {
  /** Hold the first cheaper alternative of the product's downgrade ladder that fits, if the request does not. */
  @OptionalField()
  @IsBoolean()
  allow_downgrade?: boolean;
}

/**
 * The cross-field rules of OperationFields: exactly one of `amount` and `product` + `usage`;
 * dimension values are strings. Fields are named under `prefix` (a batch item: `items[3]`).
 */
export function toAdmissionRequest(body: OperationFields & { allow_downgrade?: boolean }, prefix = ''): AdmissionRequest {
  const errors: FieldError[] = [];
  const at = (...path: string[]) => fieldPath(prefix, ...path);
  const priced = body.product !== undefined || body.usage !== undefined || body.dimensions !== undefined;
  if (body.amount !== undefined && priced)
    errors.push({ field: at('amount'), message: 'give either amount, or product with usage, not both' });
  if (body.amount === undefined && !priced) errors.push({ field: at('amount'), message: 'give amount, or product with usage' });
  if (priced && body.product === undefined) errors.push({ field: at('product'), message: 'product is required with usage' });
  if (priced && body.usage === undefined) errors.push({ field: at('usage'), message: 'usage is required with product' });
  for (const [name, value] of Object.entries(body.usage ?? {})) {
    if (!NAME.test(name)) errors.push({ field: at('usage'), message: `dimension '${name.slice(0, 64)}' ${NAME_MESSAGE}` });
    else if (typeof value !== 'number' && typeof value !== 'string')
      errors.push({ field: at('usage', name), message: `${name} must be a number or a decimal string` });
  }
  for (const [name, value] of Object.entries(body.dimensions ?? {})) {
    if (!NAME.test(name)) errors.push({ field: at('dimensions'), message: `dimension '${name.slice(0, 64)}' ${NAME_MESSAGE}` });
    else if (typeof value !== 'string' || value.length === 0 || value.length > 128)
      errors.push({ field: at('dimensions', name), message: `${name} must be a string of 1 to 128 characters` });
  }
  if (errors.length > 0) throw PlatformError.validation(errors);
  if (body.amount !== undefined) return { kind: 'amount', amount: body.amount };
  return {
    kind: 'operation',
    product: body.product!,
    usage: body.usage!,
    dimensions: body.dimensions ?? {},
    allowDowngrade: body.allow_downgrade === true,
  };
}

export class ProviderDto {
  @IsString()
  @MinLength(1)
  @MaxLength(128)
  name: string;

  @OptionalField()
  @IsString()
  @MinLength(1)
  @MaxLength(256)
  request_id?: string;
}

export class CommitDto {
  /** The actual cost in micro-credits (0 when nothing was produced), instead of usage. */
  @OptionalField()
  @IsInt(ACTUAL_AMOUNT)
  @Min(0, ACTUAL_AMOUNT)
  @Max(MAX_AMOUNT, ACTUAL_AMOUNT)
  amount?: number;

  /** The actual usage, priced at the rates the hold recorded (a priced reservation). */
  @OptionalField()
  @IsObject()
  usage?: Record<string, number | string>;

  /** Accepted for the record; the hold's dimensions price the usage. */
  @OptionalField()
  @IsObject()
  dimensions?: Record<string, string>;

  @OptionalField()
  @IsObject()
  @ValidateNested()
  @Type(() => ProviderDto)
  provider?: ProviderDto;
}

export class ReleaseDto {
  @OptionalField()
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  reason?: string;
}

export class ExtendDto {
  @IsInt(TTL)
  @Min(1, TTL)
  @Max(86_400, TTL)
  ttl_seconds: number;
}

export class ReservationPathDto {
  @Matches(/^res_[A-Za-z0-9_-]{1,64}(\.[A-Za-z0-9._:-]{1,128})?$/, { message: 'id is not a reservation id' })
  id: string;
}

export class ListReservationsQueryDto {
  @Matches(ID, { message: `org_id ${ID_MESSAGE}` })
  org_id: string;

  @OptionalField()
  @Matches(ID, { message: `project_id ${ID_MESSAGE}` })
  project_id?: string;

  @OptionalField()
  @Matches(ID, { message: `user_id ${ID_MESSAGE}` })
  user_id?: string;

  @OptionalField()
  @IsIn(['held', 'committed', 'released', 'expired'])
  status?: 'held' | 'committed' | 'released' | 'expired';

  @OptionalField()
  @IsString()
  @MaxLength(512)
  @Matches(/^[A-Za-z0-9_-]+$/, { message: 'cursor is not a cursor this API issued' })
  cursor?: string;

  @OptionalField()
  @Type(() => Number)
  @IsInt(PAGE_SIZE)
  @Min(1, PAGE_SIZE)
  @Max(200, PAGE_SIZE)
  limit?: number;
}

export class BatchItemDto extends OperationFields {}

export class ReserveBatchDto extends HolderFields {
  @IsIn(['all_or_nothing', 'max_fundable'])
  policy: 'all_or_nothing' | 'max_fundable';

  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @IsObject({ each: true })
  @ValidateNested({ each: true })
  @Type(() => BatchItemDto)
  items: BatchItemDto[];
}
