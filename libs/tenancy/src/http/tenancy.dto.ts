import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { CLIENT_ID_PATTERN, ENVIRONMENTS, SCOPES, type Environment, type Scope } from '../domain/access';
import { ORG_STATUSES, OVERAGE_POLICIES, type OrgStatus, type OveragePolicy } from '../domain/organization';
import { MAX_AMOUNT, PAST_DUE_POLICIES, type PastDuePolicy } from '../domain/org-settings';

const ID_MESSAGE = 'must be 1-128 letters, digits, ".", "_", "-" or ":"';

export class SettingsDto {
  @IsOptional() @IsBoolean()
  auto_create?: boolean;

  @IsOptional() @IsInt() @Min(1) @Max(86_400)
  default_ttl_seconds?: number;

  @IsOptional() @IsInt() @Min(1) @Max(86_400)
  max_ttl_seconds?: number;

  @IsOptional() @IsIn(PAST_DUE_POLICIES)
  past_due_policy?: PastDuePolicy;

  /** Micro-credits. */
  @IsOptional() @IsInt() @Min(0) @Max(MAX_AMOUNT)
  past_due_grace_amount?: number;

  /** Micro-credits. */
  @IsOptional() @IsInt() @Min(0) @Max(MAX_AMOUNT)
  overdraft_limit?: number;

  @IsOptional() @IsArray() @ArrayMaxSize(10) @IsInt({ each: true }) @Min(1, { each: true }) @Max(100, { each: true })
  budget_alert_thresholds?: number[];
}

export class CreateOrganizationDto {
  @IsOptional() @IsString() @Matches(CLIENT_ID_PATTERN, { message: `id ${ID_MESSAGE}` })
  id?: string;

  @IsString() @MinLength(1) @MaxLength(200)
  name: string;

  @IsOptional() @IsString() @Matches(CLIENT_ID_PATTERN, { message: `rate_card_id ${ID_MESSAGE}` })
  rate_card_id?: string;

  @IsOptional() @IsIn(OVERAGE_POLICIES)
  overage_policy?: OveragePolicy;

  /** With `allow_up_to_percent`: how far past its hold a commit may charge, in percent. */
  @IsOptional() @IsInt() @Min(0) @Max(1000)
  overage_percent?: number;

  @IsOptional() @ValidateNested() @Type(() => SettingsDto)
  settings?: SettingsDto;
}

export class UpdateOrganizationDto {
  @IsOptional() @IsString() @MinLength(1) @MaxLength(200)
  name?: string;

  @IsOptional() @IsIn(ORG_STATUSES)
  status?: OrgStatus;

  /** `null` unassigns the rate card. */
  @IsOptional() @ValidateIf((_, v) => v !== null) @IsString() @Matches(CLIENT_ID_PATTERN, { message: `rate_card_id ${ID_MESSAGE}` })
  rate_card_id?: string | null;

  @IsOptional() @IsIn(OVERAGE_POLICIES)
  overage_policy?: OveragePolicy;

  @IsOptional() @ValidateIf((_, v) => v !== null) @IsInt() @Min(0) @Max(1000)
  overage_percent?: number | null;

  @IsOptional() @ValidateNested() @Type(() => SettingsDto)
  settings?: SettingsDto;
}

export class CreateApiKeyDto {
  @IsArray() @ArrayMinSize(1) @ArrayUnique() @IsIn(SCOPES, { each: true })
  scopes: Scope[];

  @IsIn(ENVIRONMENTS)
  environment: Environment;

  @IsOptional() @IsString() @MinLength(1) @MaxLength(100)
  name?: string;
}

export class CreatePlatformKeyDto {
  @IsArray() @ArrayMinSize(1) @ArrayUnique() @IsIn(SCOPES, { each: true })
  scopes: Scope[];

  @IsOptional() @IsString() @MinLength(1) @MaxLength(100)
  name?: string;
}

export class AuditLogQueryDto {
  @IsOptional() @IsString() @Matches(CLIENT_ID_PATTERN, { message: `org_id ${ID_MESSAGE}` })
  org_id?: string;

  @IsOptional() @IsString() @MaxLength(512) @Matches(/^[A-Za-z0-9_-]+$/, { message: 'cursor is not a cursor this API issued' })
  cursor?: string;

  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(200)
  limit?: number;
}

export class OrgPathDto {
  @Matches(CLIENT_ID_PATTERN, { message: `org ${ID_MESSAGE}` })
  org: string;
}
