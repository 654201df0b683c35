import { microCredits, NullableField, OptionalField, wholeNumber } from '@tollgate/platform';
import { CLIENT_ID_PATTERN } from '@tollgate/tenancy';
import { Type } from 'class-transformer';
import { IsDate, IsIn, IsInt, IsString, Matches, Max, MaxLength, Min, MinLength } from 'class-validator';
import { PERIODS, type Period } from '../domain/period';

const MAX_AMOUNT = Number.MAX_SAFE_INTEGER;
const ID = CLIENT_ID_PATTERN;
const ID_MESSAGE = 'must be 1-128 letters, digits, ".", "_", "-" or ":"';
/** One message per integer field, whatever is wrong with it (see wholeNumber). */
const AMOUNT = microCredits(1);
const LIMIT = microCredits(0);
const USERS_PER_PAGE = wholeNumber(1, 10_000);

export class ProjectPathDto {
  @Matches(ID, { message: `org ${ID_MESSAGE}` })
  org: string;

  @Matches(ID, { message: `project ${ID_MESSAGE}` })
  project: string;
}

export class UserPathDto extends ProjectPathDto {
  @Matches(ID, { message: `user ${ID_MESSAGE}` })
  user: string;
}

export class PutProjectDto {
  @NullableField()
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  name?: string | null;

  /** Micro-credits per period; null: no envelope. */
  @NullableField()
  @IsInt(LIMIT)
  @Min(0, LIMIT)
  @Max(MAX_AMOUNT, LIMIT)
  limit?: number | null;

  @OptionalField()
  @IsIn(PERIODS)
  period?: Period;

  /** The cap of every user of the project without their own; null: none. */
  @NullableField()
  @IsInt(LIMIT)
  @Min(0, LIMIT)
  @Max(MAX_AMOUNT, LIMIT)
  default_user_limit?: number | null;

  @OptionalField()
  @IsIn(PERIODS)
  default_user_period?: Period;
}

export class PutUserDto {
  /** null: back to the project's default cap. */
  @NullableField()
  @IsInt(LIMIT)
  @Min(0, LIMIT)
  @Max(MAX_AMOUNT, LIMIT)
  limit?: number | null;

  @OptionalField()
  @IsIn(PERIODS)
  period?: Period;
}

export class GrantCreditsDto {
  /** Micro-credits. */
  @IsInt(AMOUNT)
  @Min(1, AMOUNT)
  @Max(MAX_AMOUNT, AMOUNT)
  amount: number;

  @IsString()
  @MinLength(1)
  @MaxLength(500)
  reason: string;

  @OptionalField()
  @Type(() => Date)
  @IsDate({ message: 'expires_at must be an RFC 3339 date-time' })
  expires_at?: Date;

  /** Where the credit comes from (top-up, promotion, a vendor's grant id). */
  @OptionalField()
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  source?: string;
}

export class UsageQueryDto {
  @OptionalField()
  @IsIn(['current'])
  period?: 'current';

  /** The next page of users (every page has every project). */
  @OptionalField()
  @IsString()
  @MaxLength(1024)
  @Matches(/^[A-Za-z0-9_-]+$/, { message: 'cursor is not a cursor this API issued' })
  cursor?: string;

  /** Users per page, default and at most 10,000. */
  @OptionalField()
  @Type(() => Number)
  @IsInt(USERS_PER_PAGE)
  @Min(1, USERS_PER_PAGE)
  @Max(10_000, USERS_PER_PAGE)
  limit?: number;
}
