/** Inbound vendor webhooks: verification, the receipt log and replay guard, product actions. */
export const INBOUND_CONTROLLERS: (new (...args: never[]) => unknown)[] = [];
export const INBOUND_PROVIDERS: (new (...args: never[]) => unknown)[] = [];
