import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AuthConfig } from '@tollgate/config';
import { IS_PUBLIC, PlatformError } from '@tollgate/platform';
import { ENVIRONMENTS, Environment, Principal, Scope } from '../domain/access';
import { KeyRateLimiter } from '../domain/rate-limit';
import { TenancyError } from '../domain/tenancy.error';
import { AuthenticateApiKeyUseCase } from '../usecases/authenticate-api-key/authenticate-api-key.usecase';
import { REQUIRED_SCOPES } from './auth.decorators';

/**
 * Every route but @Public ones: a valid key (401), the environment, the organization named
 * in the path (404 for an organization key naming another: never 403, so nothing leaks),
 * then the scopes (403).
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly orgKeys: KeyRateLimiter | null;
  private readonly platformKeys: KeyRateLimiter | null;

  constructor(
    private readonly reflector: Reflector,
    private readonly authenticate: AuthenticateApiKeyUseCase,
    config: AuthConfig,
  ) {
    const limiter = (perSecond: number) => (perSecond > 0 ? new KeyRateLimiter(perSecond, 2 * perSecond) : null);
    this.orgKeys = limiter(config.orgKeyPerSecond);
    this.platformKeys = limiter(config.platformKeyPerSecond);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();

    const match = /^Bearer ([\x21-\x7e]{1,512})$/.exec(request.headers.authorization ?? '');
    const key = match ? await this.authenticate.execute(match[1]) : null;
    if (!key) {
      context.switchToHttp().getResponse<FastifyReply>().header('WWW-Authenticate', 'Bearer');
      throw new PlatformError(
        'unauthenticated',
        match ? 'The API key is unknown or revoked.' : 'Send an API key as "Authorization: Bearer <key>".',
      );
    }

    const header = request.headers['x-environment'];
    let environment: Environment;
    if (key.kind === 'org') {
      environment = key.environment!;
      if (header !== undefined && header !== environment) {
        throw new TenancyError('environment_not_allowed', `This key belongs to the ${environment} environment.`);
      }
    } else {
      if (header !== undefined && !ENVIRONMENTS.includes(header as Environment)) {
        throw PlatformError.validation([{ field: 'X-Environment', message: 'X-Environment must be live or test' }]);
      }
      environment = (header as Environment | undefined) ?? 'live';
    }
    const limiter = key.kind === 'org' ? this.orgKeys : this.platformKeys;
    const wait = limiter ? limiter.take(key.id, Date.now()) : 0;
    if (wait > 0) {
      throw new PlatformError('rate_limited', 'This key sends more requests than it may; slow down and retry.', {
        retry_after_seconds: wait,
      });
    }
    const principal = new Principal(key.id, key.kind, key.orgId, environment, key.scopes);
    request.principal = principal;

    const orgParam = (request.params as Record<string, string> | undefined)?.org;
    if (orgParam !== undefined && !principal.canAccessOrg(orgParam)) throw TenancyError.unknownOrg(orgParam);

    const required = this.reflector.getAllAndOverride<Scope[] | undefined>(REQUIRED_SCOPES, targets);
    if (required && !principal.hasAnyScope(required)) {
      throw new PlatformError('insufficient_scope', `This key lacks the scope this request needs: ${required.join(' or ')}.`, {
        required_scopes: required,
      });
    }
    return true;
  }
}
