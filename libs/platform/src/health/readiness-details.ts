import { Injectable } from '@nestjs/common';

type DetailSource = () => Promise<Record<string, unknown>>;

/**
 * Figures other modules add to `/health/ready` as details (the billing outbox's lag). They
 * never make the service unready: a billing vendor's outage must not take admission out of a
 * load balancer.
 */
@Injectable()
export class ReadinessDetails {
  private readonly sources = new Map<string, DetailSource>();

  register(name: string, source: DetailSource): void {
    this.sources.set(name, source);
  }

  entries(): [string, DetailSource][] {
    return [...this.sources.entries()];
  }
}
