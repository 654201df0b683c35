import { Principal } from './access';

/** Who is asking, and under which request id, for use cases that audit what they change. */
export interface CallContext {
  principal: Principal;
  requestId: string | null;
}
