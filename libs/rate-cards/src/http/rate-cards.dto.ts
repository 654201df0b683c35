import { OptionalField } from '@tollgate/platform';
import { CLIENT_ID_PATTERN } from '@tollgate/tenancy';
import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsDate, IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { NAME_PATTERN } from '../domain/rate';
import { MAX_CARD_NAME_LENGTH } from '../domain/rate-card';
import { NAME_MESSAGE } from '../domain/rate-validation';
import { MAX_ITEMS_PER_CALL } from '../usecases/price-items';

/*
 * Only the outer shape is checked here. Rates, overrides and ladders are read and validated by
 * the domain (rate-input.ts, rate-validation.ts), so that one 422 lists every problem with
 * bracketed paths (`rates[1].tiers[0].up_to`) and no rule is written twice.
 */

const ID_MESSAGE = 'must be 1-128 letters, digits, ".", "_", "-" or ":"';

export class RateCardPathDto {
  @Matches(CLIENT_ID_PATTERN, { message: `id ${ID_MESSAGE}` })
  id: string;
}

export class LadderPathDto extends RateCardPathDto {
  @Matches(NAME_PATTERN, { message: `product ${NAME_MESSAGE}` })
  product: string;
}

export class RateCardQueryDto {
  /** Which rates `in_force` describes; default now. */
  @OptionalField()
  @Type(() => Date)
  @IsDate({ message: 'at must be an RFC 3339 date-time' })
  at?: Date;
}

export class CreateRateCardDto {
  @IsString()
  @MinLength(1)
  @MaxLength(MAX_CARD_NAME_LENGTH)
  name: string;

  @IsArray()
  @ArrayMaxSize(MAX_ITEMS_PER_CALL)
  rates: unknown[];

  @OptionalField()
  @IsArray()
  @ArrayMaxSize(100)
  ladders?: unknown[];
}

export class AddRatesDto {
  @IsArray()
  @ArrayMaxSize(MAX_ITEMS_PER_CALL)
  rates: unknown[];
}

export class PutLadderDto {
  @IsArray()
  ladder: unknown[];
}

export class AddRateOverridesDto {
  @IsArray()
  @ArrayMaxSize(MAX_ITEMS_PER_CALL)
  overrides: unknown[];
}
