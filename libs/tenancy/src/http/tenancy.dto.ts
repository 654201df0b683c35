import { microCredits, NullableField, OptionalField, wholeNumber } from '@tollgate/platform';
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
import { MAX_AMOUNT, PAST_DUE_POLICIES, VENDOR_SIGNAL_ACTIONS, type OrgSettings, type PastDuePolicy } from '../domain/org-settings';

const ID_MESSAGE = 'must be 1-128 letters, digits, ".", "_", "-" or ":"';
/** One message per integer field, whatever is wrong with it (see wholeNumber). */
const TTL = wholeNumber(1, 86_400);
const AMOUNT = microCredits(0);
const PERCENT = wholeNumber(0, 1000);
const PAGE_SIZE = wholeNumber(1, 200);
const THRESHOLD = wholeNumber(1, 100, { each: true });

export class SettingsDto {
  @OptionalField()
  @IsBoolean()
  auto_create?: boolean;

  @OptionalField()
  @IsInt(TTL)
  @Min(1, TTL)
  @Max(86_400, TTL)
  default_ttl_seconds?: number;

  @OptionalField()
  @IsInt(TTL)
  @Min(1, TTL)
  @Max(86_400, TTL)
  max_ttl_seconds?: number;

  @OptionalField()
  @IsIn(PAST_DUE_POLICIES)
  past_due_policy?: PastDuePolicy;

  /** Micro-credits. */
  @OptionalField()
  @IsInt(AMOUNT)
  @Min(0, AMOUNT)
  @Max(MAX_AMOUNT, AMOUNT)
  past_due_grace_amount?: number;

  /** Micro-credits. */
  @OptionalField()
  @IsInt(AMOUNT)
  @Min(0, AMOUNT)
  @Max(MAX_AMOUNT, AMOUNT)
  overdraft_limit?: number;

  @OptionalField()
  @IsArray()
  @ArrayMaxSize(10)
  @IsInt(THRESHOLD)
  @Min(1, THRESHOLD)
  @Max(100, THRESHOLD)
  budget_alert_thresholds?: number[];

  /** What a vendor's payment-failed / invoice-overdue webhook does. */
  @OptionalField()
  @IsIn(VENDOR_SIGNAL_ACTIONS.on_payment_failed)
  on_payment_failed?: OrgSettings['on_payment_failed'];

  @OptionalField()
  @IsIn(VENDOR_SIGNAL_ACTIONS.on_payment_succeeded)
  on_payment_succeeded?: OrgSettings['on_payment_succeeded'];

  @OptionalField()
  @IsIn(VENDOR_SIGNAL_ACTIONS.on_credits_granted)
  on_credits_granted?: OrgSettings['on_credits_granted'];

  @OptionalField()
  @IsIn(VENDOR_SIGNAL_ACTIONS.on_balance_low)
  on_balance_low?: OrgSettings['on_balance_low'];

  @OptionalField()
  @IsIn(VENDOR_SIGNAL_ACTIONS.on_spend_threshold)
  on_spend_threshold?: OrgSettings['on_spend_threshold'];
}

export class CreateOrganizationDto {
  @OptionalField()
  @IsString()
  @Matches(CLIENT_ID_PATTERN, { message: `id ${ID_MESSAGE}` })
  id?: string;

  @IsString()
  @MinLength(1)
  @MaxLength(200)
  name: string;

  @OptionalField()
  @IsString()
  @Matches(CLIENT_ID_PATTERN, { message: `rate_card_id ${ID_MESSAGE}` })
  rate_card_id?: string;

  @OptionalField()
  @IsIn(OVERAGE_POLICIES)
  overage_policy?: OveragePolicy;

  /** With `allow_up_to_percent`: how far past its hold a commit may charge, in percent. */
  @OptionalField()
  @IsInt(PERCENT)
  @Min(0, PERCENT)
  @Max(1000, PERCENT)
  overage_percent?: number;

  @OptionalField()
  @IsObject()
  @ValidateNested()
  @Type(() => SettingsDto)
  settings?: SettingsDto;
}

export class UpdateOrganizationDto {
  @OptionalField()
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  name?: string;

  @OptionalField()
  @IsIn(ORG_STATUSES)
  status?: OrgStatus;

  /** `null` unassigns the rate card. */
  @NullableField()
  @IsString()
  @Matches(CLIENT_ID_PATTERN, { message: `rate_card_id ${ID_MESSAGE}` })
  rate_card_id?: string | null;

  @OptionalField()
  @IsIn(OVERAGE_POLICIES)
  overage_policy?: OveragePolicy;

  @NullableField()
  @IsInt(PERCENT)
  @Min(0, PERCENT)
  @Max(1000, PERCENT)
  overage_percent?: number | null;

  @OptionalField()
  @IsObject()
  @ValidateNested()
  @Type(() => SettingsDto)
  settings?: SettingsDto;
}

export class CreateApiKeyDto {
  @IsArray()
  @ArrayMinSize(1)
  @ArrayUnique()
  @IsIn(SCOPES, { each: true })
  scopes: Scope[];

  @IsIn(ENVIRONMENTS)
  environment: Environment;

  @OptionalField()
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  name?: string;
}

export class CreatePlatformKeyDto {
  @IsArray()
  @ArrayMinSize(1)
  @ArrayUnique()
  @IsIn(SCOPES, { each: true })
  scopes: Scope[];

  @OptionalField()
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  name?: string;
}

export class AuditLogQueryDto {
  @OptionalField()
  @IsString()
  @Matches(CLIENT_ID_PATTERN, { message: `org_id ${ID_MESSAGE}` })
  org_id?: string;

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

export class OrgPathDto {
  @Matches(CLIENT_ID_PATTERN, { message: `org ${ID_MESSAGE}` })
  org: string;
}
