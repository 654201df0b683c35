import { RouteConfig } from '@nestjs/platform-fastify';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { PlatformError } from '../errors/tollgate-error';

/**
 * A bulk route's own bounds on its body, in place of the service-wide ones (json-body.ts and
 * HTTP_BODY_LIMIT_BYTES): a reconciliation import of 10,000 records is larger and wider than any
 * other request. With `csv`, the route also takes `text/csv` (handed over as a CsvBody); every
 * other route still answers 415 to it.
 */
export interface BulkBodyBounds {
  maxBytes: number;
  maxTokens: number;
  maxItems: number;
  csv: boolean;
}

/** A `text/csv` body as the route receives it (the route parses it: rows are reported by line). */
export class CsvBody {
  constructor(readonly csv: string) {}
}

export function BulkBody(bounds: BulkBodyBounds): MethodDecorator {
  return RouteConfig({ bulkBody: bounds });
}

/** The bounds of the request's route, if it is a bulk route. */
export function bulkBoundsOf(request: FastifyRequest): BulkBodyBounds | undefined {
  return (request.routeOptions?.config as { bulkBody?: BulkBodyBounds } | undefined)?.bulkBody;
}

/** A bulk route's byte limit replaces the global one; text/csv is parsed only for routes that take it. */
export function registerBulkBodies(fastify: FastifyInstance): void {
  fastify.addHook('onRoute', (route) => {
    const bounds = (route.config as { bulkBody?: BulkBodyBounds } | undefined)?.bulkBody;
    if (bounds) route.bodyLimit = bounds.maxBytes;
  });
  fastify.addContentTypeParser('text/csv', { parseAs: 'string' }, (request, body, done) => {
    if (!bulkBoundsOf(request)?.csv) {
      done(new PlatformError('unsupported_media_type', 'This route takes application/json only.'), undefined);
      return;
    }
    const text = body as string;
    // Postgres text cannot hold U+0000: refused up front, as for JSON.
    if (text.includes('\u0000')) {
      done(PlatformError.validation([{ field: 'body', message: 'must not contain the NUL character (U+0000)' }]), undefined);
      return;
    }
    done(null, new CsvBody(text));
  });
}
