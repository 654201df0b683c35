import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'tollgate:public';
/** Served without an API key (health, metrics, signed webhooks). */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC, true);
