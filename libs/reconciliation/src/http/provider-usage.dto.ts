import { Type } from 'class-transformer';
import { IsInt, Matches, Max, Min } from 'class-validator';
import { OptionalField, wholeNumber } from '@tollgate/platform';
import { MAX_UNMATCHED_COMMIT_AGE_SECONDS } from '../domain/provider-usage';

const AGE = wholeNumber(0, MAX_UNMATCHED_COMMIT_AGE_SECONDS);
const WINDOW = wholeNumber(1, MAX_UNMATCHED_COMMIT_AGE_SECONDS);

export class ImportQueryDto {
  /** Seconds: a commit with a provider request id and no provider record is unmatched once this old (default 86,400). */
  @OptionalField()
  @Type(() => Number)
  @IsInt(AGE)
  @Min(0, AGE)
  @Max(MAX_UNMATCHED_COMMIT_AGE_SECONDS, AGE)
  unmatched_commit_age?: number;

  /** Seconds before that age that are looked at (default 30 days): the listing is bounded in time and in rows. */
  @OptionalField()
  @Type(() => Number)
  @IsInt(WINDOW)
  @Min(1, WINDOW)
  @Max(MAX_UNMATCHED_COMMIT_AGE_SECONDS, WINDOW)
  unmatched_commit_window?: number;
}

export class RunPathDto {
  @Matches(/^run_[A-Za-z0-9_-]{1,64}$/, { message: 'id is not a run id' })
  id!: string;
}
