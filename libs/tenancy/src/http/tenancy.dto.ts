import { Optional, Nullable } from '@tollgate/platform';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsObject,
  IsInt,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateNested,
} from 'class-validator';
import { CLIENT_ID_PATTERN, ENVIRONMENTS, SCOPES, type Environment, type Scope } from '../domain/access';
import { ORG_STATUSES, OVERAGE_POLICIES, type OrgStatus, type OveragePolicy } from '../domain/organization';
import { MAX_AMOUNT, PAST_DUE_POLICIES, type PastDuePolicy } from '../domain/org-settings';

const ID_MESSAGE = 'must be 1-128 letters, digits, ".", "_", "-" or ":"';

export class SettingsDto {
  @Optional() @IsBoolean()
  auto_create?: boolean;

  @Optional() @IsInt() @Min(1) @Max(86_400)
  default_ttl_seconds?: number;

  @Optional() @IsInt() @Min(1) @Max(86_400)
  max_ttl_seconds?: number;

  @Optional() @IsIn(PAST_DUE_POLICIES)
  past_due_policy?: PastDuePolicy;

  /** Micro-credits. */
  @Optional() @IsInt() @Min(0) @Max(MAX_AMOUNT)
  past_due_grace_amount?: number;

  /** Micro-credits. */
  @Optional() @IsInt() @Min(0) @Max(MAX_AMOUNT)
  overdraft_limit?: number;

  @Optional() @IsArray() @ArrayMaxSize(10) @IsInt({ each: true }) @Min(1, { each: true }) @Max(100, { each: true })
  budget_alert_thresholds?: number[];
}

export class CreateOrganizationDto {
  @Optional() @IsString() @Matches(CLIENT_ID_PATTERN, { message: `id ${ID_MESSAGE}` })
  id?: string;

  @IsString() @MinLength(1) @MaxLength(200)
  name: string;

  @Optional() @IsString() @Matches(CLIENT_ID_PATTERN, { message: `rate_card_id ${ID_MESSAGE}` })
  rate_card_id?: string;

  @Optional() @IsIn(OVERAGE_POLICIES)
  overage_policy?: OveragePolicy;

  /** With `allow_up_to_percent`: how far past its hold a commit may charge, in percent. */
  @Optional() @IsInt() @Min(0) @Max(1000)
  overage_percent?: number;

  @Optional() @IsObject() @ValidateNested() @Type(() => SettingsDto)
  settings?: SettingsDto;
}

export class UpdateOrganizationDto {
  @Optional() @IsString() @MinLength(1) @MaxLength(200)
  name?: string;

  @Optional() @IsIn(ORG_STATUSES)
  status?: OrgStatus;

  /** `null` unassigns the rate card. */
  @Nullable() @IsString() @Matches(CLIENT_ID_PATTERN, { message: `rate_card_id ${ID_MESSAGE}` })
  rate_card_id?: string | null;

  @Optional() @IsIn(OVERAGE_POLICIES)
  overage_policy?: OveragePolicy;

  @Nullable() @IsInt() @Min(0) @Max(1000)
  overage_percent?: number | null;

  @Optional() @IsObject() @ValidateNested() @Type(() => SettingsDto)
  settings?: SettingsDto;
}

export class CreateApiKeyDto {
  @IsArray() @ArrayMinSize(1) @ArrayUnique() @IsIn(SCOPES, { each: true })
  scopes: Scope[];

  @IsIn(ENVIRONMENTS)
  environment: Environment;

  @Optional() @IsString() @MinLength(1) @MaxLength(100)
  name?: string;
}

export class CreatePlatformKeyDto {
  @IsArray() @ArrayMinSize(1) @ArrayUnique() @IsIn(SCOPES, { each: true })
  scopes: Scope[];

  @Optional() @IsString() @MinLength(1) @MaxLength(100)
  name?: string;
}

export class AuditLogQueryDto {
  @Optional() @IsString() @Matches(CLIENT_ID_PATTERN, { message: `org_id ${ID_MESSAGE}` })
  org_id?: string;

  @Optional() @IsString() @MaxLength(512) @Matches(/^[A-Za-z0-9_-]+$/, { message: 'cursor is not a cursor this API issued' })
  cursor?: string;

  @Optional() @Type(() => Number) @IsInt() @Min(1) @Max(200)
  limit?: number;
}

export class OrgPathDto {
  @Matches(CLIENT_ID_PATTERN, { message: `org ${ID_MESSAGE}` })
  org: string;
}
