import { EventEmitter } from 'node:events';
import { InvalidationBus } from './invalidation-bus.port';

/** One process: delivery is a local event. */
export class InProcessInvalidationBus extends InvalidationBus {
  private readonly events = new EventEmitter().setMaxListeners(0);

  async publish(topic: string, key: string): Promise<void> {
    this.events.emit(topic, key);
  }

  subscribe(topic: string, onKey: (key: string) => void): void {
    this.events.on(topic, onKey);
  }
}
