import { Idempotent, SecretInResponse } from '@tollgate/platform';
import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { IsString, Matches } from 'class-validator';
import { CallContext } from '../domain/call-context';
import { CreateApiKeyUseCase } from '../usecases/create-api-key/create-api-key.usecase';
import { ListApiKeysUseCase } from '../usecases/list-api-keys/list-api-keys.usecase';
import { RevokeApiKeyUseCase } from '../usecases/revoke-api-key/revoke-api-key.usecase';
import { Caller, RequireScopes } from './auth.decorators';
import { CreateApiKeyDto, CreatePlatformKeyDto, OrgPathDto } from './tenancy.dto';
import { presentApiKey } from './tenancy.presenter';

class KeyPathDto extends OrgPathDto {
  @IsString()
  @Matches(/^key_[A-Za-z0-9_-]{1,64}$/, { message: 'id is not an API key id' })
  id: string;
}

class PlatformKeyPathDto {
  @IsString()
  @Matches(/^key_[A-Za-z0-9_-]{1,64}$/, { message: 'id is not an API key id' })
  id: string;
}

@ApiTags('api keys')
@ApiBearerAuth()
@Idempotent()
@Controller('v1')
export class ApiKeysController {
  constructor(
    private readonly createKey: CreateApiKeyUseCase,
    private readonly revokeKey: RevokeApiKeyUseCase,
    private readonly listKeys: ListApiKeysUseCase,
  ) {}

  /** The secret is in this answer only; Tollgate keeps its hash. */
  @Post('orgs/:org/keys')
  @SecretInResponse('secret')
  @RequireScopes('quota:admin')
  async create(@Caller() ctx: CallContext, @Param() { org }: OrgPathDto, @Body() body: CreateApiKeyDto) {
    const { key, secret } = await this.createKey.forOrganization(ctx, org, body);
    return { ...presentApiKey(key), secret };
  }

  @Get('orgs/:org/keys')
  @RequireScopes('quota:admin')
  async list(@Caller() ctx: CallContext, @Param() { org }: OrgPathDto) {
    return { data: (await this.listKeys.execute(ctx, org)).map(presentApiKey), next_cursor: null };
  }

  @Delete('orgs/:org/keys/:id')
  @HttpCode(204)
  @RequireScopes('quota:admin')
  async revoke(@Caller() ctx: CallContext, @Param() { org, id }: KeyPathDto): Promise<void> {
    await this.revokeKey.execute(ctx, org, id);
  }

  @Post('platform-keys')
  @SecretInResponse('secret')
  @RequireScopes('quota:admin')
  async createPlatform(@Caller() ctx: CallContext, @Body() body: CreatePlatformKeyDto) {
    const { key, secret } = await this.createKey.forPlatform(ctx, body);
    return { ...presentApiKey(key), secret };
  }

  @Delete('platform-keys/:id')
  @HttpCode(204)
  @RequireScopes('quota:admin')
  async revokePlatform(@Caller() ctx: CallContext, @Param() { id }: PlatformKeyPathDto): Promise<void> {
    await this.revokeKey.execute(ctx, null, id);
  }
}
