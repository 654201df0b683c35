import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { Principal, Scope } from '../domain/access';
import { CallContext } from '../domain/call-context';

export const REQUIRED_SCOPES = 'tollgate:required-scopes';
/** The caller needs at least one of these scopes (platform keys have all). */
export const RequireScopes = (...anyOf: Scope[]): MethodDecorator & ClassDecorator => SetMetadata(REQUIRED_SCOPES, anyOf);

/** The authenticated caller and request id, as use cases take them. */
export const Caller = createParamDecorator((_: unknown, context: ExecutionContext): CallContext => {
  const request = context.switchToHttp().getRequest<FastifyRequest>();
  return { principal: request.principal as Principal, requestId: String(request.id) };
});
