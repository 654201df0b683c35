import { CallHandler, ExecutionContext, HttpStatus, Inject, Injectable, NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { HTTP_CODE_METADATA } from '@nestjs/common/constants';
import { createHash, randomUUID } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { from, lastValueFrom, Observable } from 'rxjs';
import { ERROR_STATUS_MAP } from '../http/tokens';
import { PROBLEM_CONTENT_TYPE, ErrorStatusMap } from '../errors/problem';
import { PlatformError } from '../errors/tollgate-error';
import { resolveProblem } from '../http/problem.filter';
import { canonicalJson } from './canonical-json';
import { IDEMPOTENCY_BY_RESOURCE, IDEMPOTENCY_REQUIRED, idempotencyKeyOf, SECRET_FIELDS } from './idempotency-metadata';
import { IdempotencyStore } from './idempotency.store';
import { ReplayResponse } from './replay';

/** The API's client id alphabet (organizations): what a scope may be built from. */
const SCOPE_ORG = /^[A-Za-z0-9._:-]{1,128}$/;

/** Outcomes that say "try again later", not "this is the answer": never stored. */
const NOT_STORED = new Set(['idempotency_request_in_progress', 'rate_limited']);

/**
 * Idempotency for every POST (API.md): first response stored per organization, environment
 * and key; the same key and body replays it with `Idempotent-Replayed: true`; another body
 * gets 409. 5xx outcomes are not stored, so a retry runs again (the failed request changed nothing).
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  constructor(
    private readonly store: IdempotencyStore,
    private readonly reflector: Reflector,
    @Inject(ERROR_STATUS_MAP) private readonly statusMap: ErrorStatusMap,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    if (request.method !== 'POST' || !request.principal) return next.handle();
    const key = idempotencyKeyOf(request, this.reflector.get<boolean>(IDEMPOTENCY_REQUIRED, context.getHandler()) === true);
    if (key === undefined || this.reflector.get<boolean>(IDEMPOTENCY_BY_RESOURCE, context.getHandler())) return next.handle();
    const successStatus = this.reflector.get<number>(HTTP_CODE_METADATA, context.getHandler()) ?? HttpStatus.CREATED;
    const secretFields = this.reflector.get<string[] | undefined>(SECRET_FIELDS, context.getHandler()) ?? [];
    return from(this.run(request, key, successStatus, secretFields, next));
  }

  private async run(
    request: FastifyRequest,
    key: string,
    successStatus: number,
    secretFields: string[],
    next: CallHandler,
  ): Promise<unknown> {
    const principal = request.principal!;
    const params = request.params as Record<string, string> | undefined;
    const body = request.body as Record<string, unknown> | undefined;
    // The key is claimed before the route's pipes validate the request: an organization id
    // that is not one (a NUL byte, 500 characters) must not reach the store as a scope.
    if (params?.org !== undefined && !SCOPE_ORG.test(params.org)) {
      throw PlatformError.validation([{ field: 'org', message: 'org must be 1-128 letters, digits, ".", "_", "-" or ":"' }]);
    }
    // A platform key acts for many organizations: its keys are scoped to the one it names.
    const bodyOrg = typeof body?.org_id === 'string' && SCOPE_ORG.test(body.org_id) ? body.org_id : '_platform';
    const orgId = principal.orgId ?? params?.org ?? bodyOrg;
    const scope = `${orgId}:${principal.environment}`;
    const path = request.url.split('?')[0];
    const hash = createHash('sha256')
      .update(`${request.method} ${path}\n${canonicalJson(body ?? null)}`)
      .digest('hex');

    const claim = await this.store.claim(scope, key, hash, randomUUID());
    switch (claim.kind) {
      case 'replay':
        throw new ReplayResponse(claim.response);
      case 'mismatch':
        throw new PlatformError('idempotency_key_reused', 'This Idempotency-Key was already used with a different request.');
      case 'in_progress':
        throw new PlatformError('idempotency_request_in_progress', 'A request with this Idempotency-Key is still being processed.', {
          retry_after_seconds: 1,
        });
    }

    let result: unknown;
    try {
      result = await lastValueFrom(next.handle(), { defaultValue: undefined });
    } catch (error) {
      const problem = resolveProblem(error, this.statusMap);
      if (problem.status >= 500 || NOT_STORED.has(problem.code)) {
        // The client must see why the request failed, not that freeing the key failed too
        // (with Postgres down both fail; the key's lock then lapses on its own).
        await this.store.abandon(scope, key, claim.owner).catch((abandonError: unknown) => {
          request.log.warn({ err: abandonError }, 'could not release idempotency key');
        });
      } else {
        await this.store.complete(scope, key, claim.owner, {
          status: problem.status,
          body: { ...problem, instance: path },
          contentType: PROBLEM_CONTENT_TYPE,
        });
      }
      throw error;
    }
    try {
      await this.store.complete(scope, key, claim.owner, {
        status: successStatus,
        body: withoutSecrets(result, secretFields),
        contentType: 'application/json; charset=utf-8',
      });
    } catch (error) {
      // The change is made: answering 5xx now would invite a retry. The key stays claimed
      // until its lock lapses; a retry before then gets 409 in progress.
      request.log.error({ err: error }, 'could not store idempotent response');
    }
    return result;
  }
}

/** The body to store for replay: the secret fields left out (see SecretInResponse). */
function withoutSecrets(result: unknown, fields: string[]): unknown {
  if (fields.length === 0 || result === null || typeof result !== 'object') return result ?? null;
  const stored: Record<string, unknown> = { ...(result as Record<string, unknown>) };
  for (const field of fields) delete stored[field];
  return stored;
}
