import { IntersectionType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsDate, IsIn, IsInt, Matches, Max, Min } from 'class-validator';
import { OptionalField, PageQueryDto, wholeNumber } from '@tollgate/platform';
import { MAX_SPEND_TOP, SPEND_GROUPS, SPEND_INTERVALS, SpendGroupBy, SpendInterval } from '../domain/spend';
import { VARIANCE_GROUPS, VarianceGroupBy } from '../domain/variance';

/** Product names as rate cards allow them. */
const PRODUCT = /^[A-Za-z0-9._:-]{1,128}$/;
const TOP = wholeNumber(1, MAX_SPEND_TOP);

export class WindowQueryDto {
  /** Inclusive. */
  @OptionalField()
  @Type(() => Date)
  @IsDate({ message: 'from must be an RFC 3339 date-time' })
  from?: Date;

  /** Exclusive. */
  @OptionalField()
  @Type(() => Date)
  @IsDate({ message: 'to must be an RFC 3339 date-time' })
  to?: Date;
}

export class UsageEventsQueryDto extends IntersectionType(PageQueryDto, WindowQueryDto) {
  @OptionalField()
  @Matches(PRODUCT, { message: 'product must be 1 to 128 letters, digits, ".", "_", "-" or ":"' })
  product?: string;
}

export class VarianceQueryDto extends WindowQueryDto {
  @OptionalField()
  @IsIn(VARIANCE_GROUPS)
  group_by?: VarianceGroupBy;
}

/** A window that must be given: a chart or an export covers a bounded stretch of time. */
export class RequiredWindowQueryDto {
  /** Inclusive; required. */
  @Type(() => Date)
  @IsDate({ message: 'from must be an RFC 3339 date-time' })
  from!: Date;

  /** Exclusive; required. */
  @Type(() => Date)
  @IsDate({ message: 'to must be an RFC 3339 date-time' })
  to!: Date;
}

export class SpendQueryDto extends RequiredWindowQueryDto {
  @OptionalField()
  @IsIn(SPEND_INTERVALS)
  interval?: SpendInterval;

  @OptionalField()
  @IsIn(SPEND_GROUPS)
  group_by?: SpendGroupBy;

  /** Groups listed per bucket, largest first; the rest are summed into the bucket's `others`. */
  @OptionalField()
  @Type(() => Number)
  @IsInt(TOP)
  @Min(1, TOP)
  @Max(MAX_SPEND_TOP, TOP)
  top?: number;
}
