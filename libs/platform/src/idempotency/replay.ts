import { StoredResponse } from './idempotency.store';

/** Thrown to short-circuit a handler; the problem filter sends the stored response as it was. */
export class ReplayResponse {
  constructor(readonly response: StoredResponse) {}
}
