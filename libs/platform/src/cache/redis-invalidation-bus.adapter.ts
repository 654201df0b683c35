import type Redis from 'ioredis';
import { InvalidationBus } from './invalidation-bus.port';

/** Every instance: Redis pub/sub on `<prefix>inv:<topic>`; local handlers run synchronously too. */
export class RedisInvalidationBus extends InvalidationBus {
  private readonly handlers = new Map<string, ((key: string) => void)[]>();

  constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    private readonly prefix: string,
  ) {
    super();
    subscriber.on('message', (channel: string, key: string) => {
      for (const handler of this.handlers.get(channel) ?? []) handler(key);
    });
  }

  async publish(topic: string, key: string): Promise<void> {
    const channel = this.prefix + 'inv:' + topic;
    for (const handler of this.handlers.get(channel) ?? []) handler(key);
    // The cache TTL bounds staleness if this message is lost; the write already succeeded.
    await this.publisher.publish(channel, key).catch(() => undefined);
  }

  subscribe(topic: string, onKey: (key: string) => void): void {
    const channel = this.prefix + 'inv:' + topic;
    const list = this.handlers.get(channel) ?? [];
    if (list.length === 0) void this.subscriber.subscribe(channel).catch(() => undefined);
    this.handlers.set(channel, [...list, onKey]);
  }
}
