/** Outbound webhooks: endpoints, signing, the delivery outbox and its dispatcher. */
export const OUTBOUND_CONTROLLERS: (new (...args: never[]) => unknown)[] = [];
export const OUTBOUND_PROVIDERS: (new (...args: never[]) => unknown)[] = [];
