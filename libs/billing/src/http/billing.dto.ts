import { IntersectionType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsDate, IsIn, IsObject, IsString, Matches, MaxLength } from 'class-validator';
import { NullableField, OptionalField, PageQueryDto } from '@tollgate/platform';

const BACKEND_NAME = /^[a-z0-9_-]{1,32}$/;

export class RoutingDto {
  /** `none` or a registered backend (`flexprice`, `metronome`); checked against the registry by the use case. */
  @IsString()
  @Matches(BACKEND_NAME, { message: 'backend must be a backend name' })
  backend!: string;

  @NullableField()
  @IsString()
  @Matches(BACKEND_NAME, { message: 'shadow must be a backend name or null' })
  shadow?: string | null;

  /** Per backend: the vendor customer id events name the customer by; provisioned when absent. */
  @OptionalField()
  @IsObject()
  customer_ids?: Record<string, string>;

  @OptionalField()
  @IsIn(['now', 'next_period'])
  effective?: 'now' | 'next_period';
}

export class OutboxQueryDto extends PageQueryDto {
  @OptionalField()
  @IsIn(['pending', 'delivered', 'failed', 'dead'])
  status?: 'pending' | 'delivered' | 'failed' | 'dead';

  @OptionalField()
  @Matches(BACKEND_NAME, { message: 'backend must be a backend name' })
  backend?: string;
}

export class DeliveryPathDto {
  @IsString()
  @MaxLength(128)
  @Matches(/^[A-Za-z0-9_:-]+$/, { message: 'id must be an outbox delivery id' })
  id!: string;
}

class WindowDto {
  /** Inclusive. */
  @Type(() => Date)
  @IsDate({ message: 'from must be an RFC 3339 date-time' })
  from!: Date;

  /** Exclusive. */
  @Type(() => Date)
  @IsDate({ message: 'to must be an RFC 3339 date-time' })
  to!: Date;
}

export class ShadowReportQueryDto extends IntersectionType(WindowDto) {}
