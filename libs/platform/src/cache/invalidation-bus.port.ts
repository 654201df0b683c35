/**
 * Tells every instance of the service that a cached thing changed (settings, keys, rate
 * cards). Delivery is best effort: caches also expire, so a lost message only delays.
 */
export abstract class InvalidationBus {
  abstract publish(topic: string, key: string): Promise<void>;
  abstract subscribe(topic: string, onKey: (key: string) => void): void;
}
