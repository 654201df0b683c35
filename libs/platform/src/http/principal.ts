/**
 * What the platform layer needs to know of an authenticated caller. Tenancy's auth guard
 * sets `request.principal`; idempotency and logging read it.
 */
export interface RequestPrincipal {
  keyId: string;
  /** Bound organization, or null for a platform key. */
  orgId: string | null;
  environment: 'live' | 'test';
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: RequestPrincipal;
  }
}
