import { CLIENT_ID_PATTERN } from '@tollgate/tenancy';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsInt, IsObject, IsOptional, IsString, Matches, Max, MaxLength, Min, MinLength, ValidateNested } from 'class-validator';

const MAX_AMOUNT = Number.MAX_SAFE_INTEGER;
const ID = CLIENT_ID_PATTERN;
const ID_MESSAGE = 'must be 1-128 letters, digits, ".", "_", "-" or ":"';

export class ReserveDto {
  @Matches(ID, { message: `org_id ${ID_MESSAGE}` })
  org_id: string;

  @Matches(ID, { message: `project_id ${ID_MESSAGE}` })
  project_id: string;

  @Matches(ID, { message: `user_id ${ID_MESSAGE}` })
  user_id: string;

  /** Micro-credits to hold (a raw amount; pricing from rate cards comes with products). */
  @IsInt() @Min(1) @Max(MAX_AMOUNT)
  amount: number;

  /** Within the organization's max_ttl_seconds; default its default_ttl_seconds. */
  @IsOptional() @IsInt() @Min(1) @Max(86_400)
  ttl_seconds?: number;

  @IsOptional() @IsObject()
  metadata?: Record<string, unknown>;
}

export class CommitDto {
  /** The actual usage in micro-credits (0 when nothing was produced). */
  @IsInt() @Min(0) @Max(MAX_AMOUNT)
  amount: number;
}

export class ReleaseDto {
  @IsOptional() @IsString() @MinLength(1) @MaxLength(200)
  reason?: string;
}

export class ExtendDto {
  @IsInt() @Min(1) @Max(86_400)
  ttl_seconds: number;
}

export class ReservationPathDto {
  @Matches(/^res_[A-Za-z0-9_-]{1,64}(\.[A-Za-z0-9._:-]{1,128})?$/, { message: 'id is not a reservation id' })
  id: string;
}

export class ListReservationsQueryDto {
  @Matches(ID, { message: `org_id ${ID_MESSAGE}` })
  org_id: string;

  @IsOptional() @Matches(ID, { message: `project_id ${ID_MESSAGE}` })
  project_id?: string;

  @IsOptional() @Matches(ID, { message: `user_id ${ID_MESSAGE}` })
  user_id?: string;

  @IsOptional() @IsIn(['held', 'committed', 'released', 'expired'])
  status?: 'held' | 'committed' | 'released' | 'expired';

  @IsOptional() @IsString() @MaxLength(512) @Matches(/^[A-Za-z0-9_-]+$/, { message: 'cursor is not a cursor this API issued' })
  cursor?: string;

  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(200)
  limit?: number;
}

export class BatchItemDto {
  @IsInt() @Min(1) @Max(MAX_AMOUNT)
  amount: number;

  @IsOptional() @IsInt() @Min(1) @Max(86_400)
  ttl_seconds?: number;

  @IsOptional() @IsObject()
  metadata?: Record<string, unknown>;
}

export class ReserveBatchDto {
  @Matches(ID, { message: `org_id ${ID_MESSAGE}` })
  org_id: string;

  @Matches(ID, { message: `project_id ${ID_MESSAGE}` })
  project_id: string;

  @Matches(ID, { message: `user_id ${ID_MESSAGE}` })
  user_id: string;

  @IsIn(['all_or_nothing', 'max_fundable'])
  policy: 'all_or_nothing' | 'max_fundable';

  @IsArray() @ArrayMinSize(1) @ArrayMaxSize(100) @ValidateNested({ each: true }) @Type(() => BatchItemDto)
  items: BatchItemDto[];
}
