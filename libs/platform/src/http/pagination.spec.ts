// The DTO in pagination.ts is decorated; entry points (main.ts) load reflect-metadata first, and so does this spec.
import 'reflect-metadata';
import { PlatformError } from '../errors/tollgate-error';
import { decodeCursor, encodeCursor, toPage } from './pagination';

/** The error decodeCursor throws (fails the test when it throws nothing). */
function rejectionOf(cursor: string, keys: string[]): PlatformError {
  try {
    decodeCursor(cursor, keys);
  } catch (error) {
    return error as PlatformError;
  }
  throw new Error(`expected cursor ${cursor} to be refused`);
}

describe('encodeCursor / decodeCursor', () => {
  it('round-trips a position', () => {
    const position = { seq: 42, id: 'org-7' };

    const sut = encodeCursor(position);

    expect(decodeCursor<{ seq: number; id: string }>(sut, ['seq', 'id'])).toEqual(position);
  });

  it('issues URL-safe cursors that the query DTO pattern accepts', () => {
    const sut = encodeCursor({ id: 'a/b+c?d=e~'.repeat(5) });

    expect(sut).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it('answers undefined when no cursor is given', () => {
    expect(decodeCursor(undefined, ['id'])).toBeUndefined();
  });

  it.each([
    ['not base64 JSON', 'not-a-cursor'],
    ["another list's cursor", encodeCursor({ id: 'org-1' })],
    ['a position of the wrong type', Buffer.from(JSON.stringify({ seq: true })).toString('base64url')],
    ['JSON null', Buffer.from('null').toString('base64url')],
    ['empty', ''],
  ])('refuses %s as validation_failed on the field cursor', (_, cursor) => {
    const error = rejectionOf(cursor, ['seq']);

    expect(error).toBeInstanceOf(PlatformError);
    expect(error.code).toBe('validation_failed');
    expect(error.extensions).toEqual({ errors: [{ field: 'cursor', message: 'cursor is not a cursor this API issued' }] });
  });
});

describe('toPage', () => {
  const rows = [{ id: 'a' }, { id: 'b' }, { id: 'c' }];
  const present = (row: { id: string }) => ({ name: row.id.toUpperCase() });
  const position = (row: { id: string }) => ({ id: row.id });

  it('keeps `limit` rows and points next_cursor at the last one kept when a row more was fetched', () => {
    const sut = toPage(rows, 2, present, position);

    expect(sut.data).toEqual([{ name: 'A' }, { name: 'B' }]);
    expect(sut.next_cursor).not.toBeNull();
    expect(decodeCursor(sut.next_cursor!, ['id'])).toEqual({ id: 'b' });
  });

  it('ends the list (next_cursor null) when no row more was fetched', () => {
    expect(toPage(rows, 3, present, position)).toEqual({ data: [{ name: 'A' }, { name: 'B' }, { name: 'C' }], next_cursor: null });
    expect(toPage(rows.slice(0, 1), 3, present, position).next_cursor).toBeNull();
  });

  it('answers an empty page for no rows', () => {
    expect(toPage([], 50, present, position)).toEqual({ data: [], next_cursor: null });
  });
});
