import { OptionalField, wholeNumber } from './validation';
import 'reflect-metadata';
import { Type } from 'class-transformer';
import { IsInt, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { PlatformError } from '../errors/tollgate-error';

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

const PAGE_SIZE = wholeNumber(1, 200);

/** Query parameters every list endpoint accepts. */
export class PageQueryDto {
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

/** Cursors are opaque to clients: base64url of the sort key of the last row returned. */
export function encodeCursor(position: Record<string, string | number>): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

export function decodeCursor<T extends Record<string, string | number>>(cursor: string | undefined, keys: (keyof T)[]): T | undefined {
  if (cursor === undefined) return undefined;
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as T;
    if (value && typeof value === 'object' && keys.every((k) => ['string', 'number'].includes(typeof value[k]))) return value;
  } catch {
    // fall through: same answer as a well-formed cursor of the wrong shape
  }
  throw PlatformError.validation([{ field: 'cursor', message: 'cursor is not a cursor this API issued' }]);
}

/** Builds a page from `limit + 1` rows fetched in sort order. */
export function toPage<R, T>(rows: R[], limit: number, map: (row: R) => T, position: (row: R) => Record<string, string | number>): Page<T> {
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  return {
    data: kept.map(map),
    next_cursor: more ? encodeCursor(position(kept[kept.length - 1])) : null,
  };
}

export const DEFAULT_PAGE_SIZE = 50;
