import { ArgumentsHost, Catch, ExceptionFilter, HttpException } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ErrorStatusMap, PROBLEM_CONTENT_TYPE, Problem, problemType, toProblem } from '../errors/problem';
import { PlatformError, PlatformErrorCode, TollgateError } from '../errors/tollgate-error';
import { ReplayResponse } from '../idempotency/replay';
import { isDependencyFailure } from './dependency-failure';

/**
 * Framework exceptions we expect to see, by status. Fastify's body parser errors reach
 * Nest as HttpException with only a status left, so the status is what we map.
 */
const HTTP_STATUS_CODES: Partial<Record<number, PlatformErrorCode>> = {
  400: 'invalid_json',
  404: 'route_not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
};

const HTTP_STATUS_DETAILS: Partial<Record<PlatformErrorCode, string>> = {
  invalid_json: 'The request body is not valid JSON.',
  payload_too_large: 'The request body is larger than this service accepts.',
  unsupported_media_type: 'Send the request body as application/json.',
};

/**
 * The 415 detail, naming what was sent (when it reads as a media type) and the usual cause:
 * `curl -d` sends a form unless told the body is JSON.
 */
export function unsupportedMediaTypeDetail(contentType: string | undefined): string {
  const sent = contentType?.split(';')[0].trim().toLowerCase();
  if (sent === undefined || sent === '') return 'Send the request body as application/json; this one had no Content-Type.';
  if (!/^[a-z0-9!#$&^_.+-]{1,64}\/[a-z0-9!#$&^_.+-]{1,64}$/.test(sent)) return HTTP_STATUS_DETAILS.unsupported_media_type!;
  const hint = sent === 'application/x-www-form-urlencoded' ? " (curl -d sends that unless given -H 'Content-Type: application/json')" : '';
  return `Send the request body as application/json, not ${sent}${hint}.`;
}

/** Turns any thrown value into the problem document and status a client sees. */
export function resolveProblem(
  error: unknown,
  statusMap: ErrorStatusMap,
  onUnknown?: (error: unknown, errorId: string) => void,
  instance?: string,
): Problem {
  if (error instanceof TollgateError) return toProblem(error, statusMap, instance);
  if (isDependencyFailure(error)) {
    return toProblem(
      new PlatformError('store_unavailable', 'A store this request needs is unavailable; nothing was changed. Try again.', {
        retry_after_seconds: 1,
      }),
      statusMap,
      instance,
    );
  }
  if (error instanceof HttpException) {
    const code = HTTP_STATUS_CODES[error.getStatus()];
    if (code) {
      const detail = HTTP_STATUS_DETAILS[code] ?? error.message;
      return toProblem(new PlatformError(code, detail), statusMap, instance);
    }
  }
  const errorId = randomUUID();
  onUnknown?.(error, errorId);
  return {
    type: problemType('internal_error'),
    title: 'Internal Server Error',
    status: 500,
    detail: `An unexpected error occurred; quote error_id ${errorId} when reporting it.`,
    code: 'internal_error',
    error_id: errorId,
    ...(instance ? { instance } : {}),
  };
}

/** The error code each reply answered with, for its request log line (a reply lives as long as its request). */
const ANSWERED_CODES = new WeakMap<FastifyReply, string>();

/** The problem's `code` when this reply answered with one (including a replayed one). */
export function answeredCode(reply: FastifyReply): string | undefined {
  return ANSWERED_CODES.get(reply);
}

export function sendProblem(reply: FastifyReply, problem: Problem): void {
  ANSWERED_CODES.set(reply, problem.code);
  const retryAfter = problem['retry_after_seconds'];
  if (typeof retryAfter === 'number') reply.header('Retry-After', String(retryAfter));
  reply.status(problem.status).header('Content-Type', PROBLEM_CONTENT_TYPE).send(problem);
}

@Catch()
export class ProblemFilter implements ExceptionFilter {
  constructor(private readonly statusMap: ErrorStatusMap) {}

  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    if (error instanceof ReplayResponse) {
      const { status, body, contentType } = error.response;
      const code = (body as { code?: unknown } | null)?.code;
      if (status >= 400 && typeof code === 'string') ANSWERED_CODES.set(reply, code);
      reply.status(status).header('Content-Type', contentType).header('Idempotent-Replayed', 'true').send(body);
      return;
    }
    const problem = resolveProblem(
      error,
      this.statusMap,
      (err, errorId) => request.log.error({ err, error_id: errorId }, 'unhandled error'),
      request.url.split('?')[0],
    );
    // Fastify's own 415 (no parser for the type) says nothing of what was sent.
    if (problem.code === 'unsupported_media_type' && !(error instanceof TollgateError)) {
      problem.detail = unsupportedMediaTypeDetail(request.headers['content-type']);
    }
    if (problem.status >= 500 && problem.code !== 'internal_error') {
      // The cause of a dependency failure is what an operator needs (which store, which error).
      request.log.warn(
        { code: problem.code, detail: problem.detail, err: error instanceof TollgateError ? undefined : error },
        'request failed',
      );
    }
    sendProblem(reply, problem);
  }
}
