import { TollgateError } from '@tollgate/platform/errors';

export type ReservationErrorCode =
  | 'insufficient_budget'
  | 'org_suspended'
  | 'org_past_due'
  | 'unknown_project'
  | 'unknown_user'
  | 'unknown_reservation'
  | 'reservation_not_held';

export class ReservationError extends TollgateError<ReservationErrorCode> {
  static unknown(id: string): ReservationError {
    return new ReservationError('unknown_reservation', `Reservation '${id}' was not found.`);
  }
}
