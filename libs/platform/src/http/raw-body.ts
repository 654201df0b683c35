import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import { PlatformError } from '../errors/tollgate-error';

/** Largest body a raw route reads (a vendor webhook is a few kilobytes). */
export const RAW_BODY_MAX_BYTES = 256 * 1024;

declare module 'fastify' {
  interface FastifyRequest {
    /** The body's bytes exactly as they arrived, on raw routes only. */
    rawBody?: Buffer;
  }
}

/**
 * A route that needs the body's exact bytes (a signed webhook: the signature is over the bytes,
 * never over a re-serialized object). The bytes are read before any parser runs and the JSON
 * parser then leaves the body alone, so a malformed or hostile body reaches the signature check
 * (and is refused and recorded there) instead of being answered by the parser. Other routes pay
 * one property look-up.
 */
export function RawBodyRoute(maxBytes = RAW_BODY_MAX_BYTES): MethodDecorator {
  return RouteConfig({ rawBody: { maxBytes } });
}

export function rawBoundsOf(request: FastifyRequest): { maxBytes: number } | undefined {
  return (request.routeOptions?.config as { rawBody?: { maxBytes: number } } | undefined)?.rawBody;
}

/** The raw bytes of a raw route's request (an empty buffer when it had no body). */
export const RawBody = createParamDecorator((_: unknown, ctx: ExecutionContext): Buffer => {
  return ctx.switchToHttp().getRequest<FastifyRequest>().rawBody ?? Buffer.alloc(0);
});

export function registerRawBodies(fastify: FastifyInstance): void {
  fastify.addHook('onRoute', (route) => {
    const bounds = (route.config as { rawBody?: { maxBytes: number } } | undefined)?.rawBody;
    if (bounds) route.bodyLimit = bounds.maxBytes;
  });
  fastify.addHook('preParsing', async (request, _reply, payload) => {
    const bounds = rawBoundsOf(request);
    if (!bounds) return payload;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of payload as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > bounds.maxBytes) throw new PlatformError('payload_too_large', `The request body is larger than ${bounds.maxBytes} bytes.`);
      chunks.push(chunk);
    }
    request.rawBody = Buffer.concat(chunks);
    // The parser that follows reads the same bytes (and skips parsing them: see json-body.ts).
    const replay = Readable.from([request.rawBody]) as Readable & { receivedEncodedLength?: number };
    replay.receivedEncodedLength = request.rawBody.length;
    return replay;
  });
}
