import { TollgateError } from '@tollgate/platform/errors';

export type ReconciliationErrorCode =
  /** No run with this id that the caller may see. */
  | 'run_not_found'
  /** An import of more records than one batch takes (MAX_IMPORT_RECORDS): nothing was imported. */
  | 'too_many_records'
  /** A CSV body that cannot be read as CSV at all (an unclosed quote, a header without the required columns). */
  | 'invalid_csv';

export class ReconciliationError extends TollgateError<ReconciliationErrorCode> {}
