import type { FieldError } from './tollgate-error';

/**
 * The one way a field path is written in `errors[].field`: object keys joined with dots, array
 * indices in brackets (`items[0].allow_downgrade`, `rates[1].tiers[0].up_to`,
 * `usage.video_seconds`). A segment may itself be a path (`fieldPath('items[2]', 'usage.x')`);
 * empty segments are skipped, so a prefix of `''` means the top level.
 */
export function fieldPath(...segments: ReadonlyArray<string | number>): string {
  let path = '';
  for (const segment of segments) {
    if (typeof segment === 'number') path += `[${segment}]`;
    else if (segment === '') continue;
    else path += path === '' || segment.startsWith('[') ? segment : `.${segment}`;
  }
  return path;
}

/** The same errors, named under `prefix` (an item's errors, reported for the whole batch). */
export function underField(prefix: string, errors: readonly FieldError[]): FieldError[] {
  return errors.map((e) => ({ ...e, field: fieldPath(prefix, e.field) }));
}

/** What a 422 says of a key the request may not have (`at is not a field of this request`). */
export function unknownFieldMessage(key: string): string {
  return `${key} is not a field of this request`;
}
