import { INestApplication } from '@nestjs/common';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import { LogController } from 'fastify';
import type { Logger } from 'pino';
import { AppConfig } from '@tollgate/config';
import { ErrorStatusMap } from '../errors/problem';
import { MetricsService } from '../metrics/metrics.service';
import { ProblemFilter } from './problem.filter';
import { createValidationPipe } from './validation';
import { setupDocs } from './docs';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Fastify with our body limit, request ids (honouring a caller's X-Request-Id) and logger. */
export function createHttpAdapter(config: AppConfig, logger: Logger): FastifyAdapter {
  return new FastifyAdapter({
    loggerInstance: logger,
    bodyLimit: config.http.bodyLimitBytes,
    // One line per request, written by our onResponse hook with the route and status.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    genReqId: (req: { headers: Record<string, string | string[] | undefined> }) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });
}

/**
 * Everything main.ts applies to the app, in one place, so end-to-end tests boot exactly
 * what production runs: pipes, filters, hooks, metrics, docs.
 */
export function configureApp(app: NestFastifyApplication, statusMap: ErrorStatusMap): INestApplication {
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new ProblemFilter(statusMap));
  app.enableShutdownHooks(['SIGTERM', 'SIGINT']);

  const metrics = app.get(MetricsService);
  const fastify = app.getHttpAdapter().getInstance();
  // The API speaks JSON only: anything else is 415, not a string handed to validation.
  fastify.removeContentTypeParser(['text/plain']);
  fastify.addHook('onRequest', async (request, reply) => {
    reply.header('X-Request-Id', request.id);
  });
  // Graceful shutdown: requests in flight when closing starts still finish, but their
  // connections must not stay open on keep-alive, or the close waits for the client.
  let closing = false;
  fastify.addHook('preClose', async () => {
    closing = true;
  });
  fastify.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('Connection', 'close');
  });
  fastify.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const seconds = reply.elapsedTime / 1000;
    metrics.httpDuration.observe({ method: request.method, route, status: String(reply.statusCode) }, seconds);
    const level = reply.statusCode >= 500 ? 'error' : 'info';
    request.log[level](
      { method: request.method, route, url: request.url, status: reply.statusCode, duration_ms: Math.round(reply.elapsedTime * 100) / 100 },
      'request completed',
    );
  });

  setupDocs(app);
  return app;
}
