import { INestApplication } from '@nestjs/common';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { FastifyInstance, FastifyReply, FastifyRequest, LogController } from 'fastify';
import type { Logger } from 'pino';
import { AppConfig, HttpConfig } from '@tollgate/config';
import { ErrorStatusMap, toProblem } from '../errors/problem';
import { PlatformError } from '../errors/tollgate-error';
import { MetricsService } from '../metrics/metrics.service';
import { answeredCode, ProblemFilter, sendProblem } from './problem.filter';
import { createValidationPipe } from './validation';
import { setupDocs } from './docs';
import { registerJsonParser } from './json-body';
import { registerBulkBodies } from './bulk-body';
import { registerRawBodies } from './raw-body';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The longest path parameter the router hands on. The longest id a path carries is a
 * reservation id, `res_` + 24 + `.` + a 128-character organization id = 157 characters
 * (docs/decisions/017). Anything longer is no id of this API: 422, like any malformed id.
 */
export const MAX_PATH_PARAM_LENGTH = 512;

/** What an organization id looks like; anything else a request names is not logged as one. */
const ORG_ID = /^[A-Za-z0-9._:-]{1,128}$/;

function member(value: unknown, key: string): unknown {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>)[key] : undefined;
}

/**
 * The organization a request acts for, for its log line: the organization key's own, else the
 * one the path, the JSON body or the query names (as a platform key names it). Read only from
 * what was already parsed (a raw route's body is not), never validated against the database.
 */
function orgOfRequest(request: FastifyRequest): string | undefined {
  const named = [request.principal?.orgId, member(request.params, 'org'), member(request.body, 'org_id'), member(request.query, 'org_id')];
  const org = named.find((value) => value !== undefined && value !== null);
  return typeof org === 'string' && ORG_ID.test(org) ? org : undefined;
}

/** A route the application registered, as Fastify knows it (`/v1/orgs/:org`). */
export interface RegisteredRoute {
  method: string;
  url: string;
}

const ROUTES = new WeakMap<object, RegisteredRoute[]>();

/** Every route the running application registered (what the fuzz suite walks). */
export function registeredRoutes(app: NestFastifyApplication): RegisteredRoute[] {
  return [...(ROUTES.get(app.getHttpAdapter().getInstance()) ?? [])];
}

/**
 * Errors Fastify answers before any route or hook of ours runs (an undecodable URL, a path
 * parameter over the router's limit): problem+json like every other answer.
 */
function frameworkError(statusMap: ErrorStatusMap) {
  return (error: { code?: string }, request: FastifyRequest, reply: FastifyReply): void => {
    const failure =
      error.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? PlatformError.validation([
            { field: 'path', message: `a path segment is longer than ${MAX_PATH_PARAM_LENGTH} characters; no id of this API is` },
          ])
        : new PlatformError('invalid_url', 'The request URL is not valid (bad percent-encoding).');
    reply.header('X-Request-Id', request.id);
    sendProblem(reply, toProblem(failure, statusMap, request.url.split('?')[0]));
  };
}

/**
 * Requests Node's HTTP parser refuses (headers over its limit, a malformed request line,
 * a request that took too long to arrive) never reach Fastify's routing: answered on the
 * socket, as problem+json, then the connection is closed (as Node and Fastify do).
 */
function clientError(statusMap: ErrorStatusMap) {
  return function (this: FastifyInstance, error: Error & { code?: string }, socket: Socket): void {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const failure =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? new PlatformError('headers_too_large', 'The request headers are larger than this service accepts.')
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? new PlatformError('request_timeout', 'The request did not arrive in time.')
          : new PlatformError('malformed_request', 'The request is not valid HTTP.');
    const problem = toProblem(failure, statusMap);
    const body = JSON.stringify(problem);
    if (socket.writable) {
      socket.write(
        `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status]}\r\nConnection: close\r\nContent-Type: application/problem+json\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    }
    socket.destroy(error);
  };
}

/** Fastify with our body limit, request ids (honouring a caller's X-Request-Id) and logger. */
/** What an instance with TOLLGATE_ROUTES=webhooks serves. */
const WEBHOOK_INSTANCE_PATHS = /^\/(v1\/webhooks\/(flexprice|metronome)|health(\/[a-z]+)?|metrics)\/?$/;

export function createHttpAdapter(config: AppConfig, logger: Logger, statusMap: ErrorStatusMap): FastifyAdapter {
  return new FastifyAdapter({
    loggerInstance: logger,
    bodyLimit: config.http.bodyLimitBytes,
    routerOptions: { maxParamLength: MAX_PATH_PARAM_LENGTH },
    frameworkErrors: frameworkError(statusMap),
    clientErrorHandler: clientError(statusMap),
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
  const routes: RegisteredRoute[] = [];
  ROUTES.set(fastify, routes);
  fastify.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) if (method !== 'HEAD') routes.push({ method, url: route.url });
  });
  // The API speaks JSON only: anything else is 415, not a string handed to validation.
  fastify.removeContentTypeParser(['text/plain']);
  // Depth and size bounds before anything else reads the body (docs/decisions/017).
  registerJsonParser(fastify);
  registerBulkBodies(fastify);
  registerRawBodies(fastify);
  fastify.addHook('onRequest', async (request, reply) => {
    reply.header('X-Request-Id', request.id);
  });
  if (app.get(HttpConfig).routes === 'webhooks') {
    fastify.addHook('onRequest', async (request) => {
      const path = request.url.split('?', 1)[0];
      if (!WEBHOOK_INSTANCE_PATHS.test(path)) {
        throw new PlatformError(
          'route_not_found',
          `This instance serves vendor webhooks only (TOLLGATE_ROUTES=webhooks); ${request.method} ${path} is served by the API instances.`,
        );
      }
    });
  }
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
      {
        method: request.method,
        route,
        url: request.url,
        status: reply.statusCode,
        duration_ms: Math.round(reply.elapsedTime * 100) / 100,
        // Who asked, for whom, and what went wrong (undefined members are left out of the line).
        org_id: orgOfRequest(request),
        key_id: request.principal?.keyId,
        code: answeredCode(reply),
      },
      'request completed',
    );
  });

  setupDocs(app);
  return app;
}
