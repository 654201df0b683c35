import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';
import {
  AuthConfig,
  BillingConfig,
  DatabaseConfig,
  ENV_NAME,
  HttpConfig,
  IdempotencyConfig,
  LogConfig,
  RedisConfig,
  SECRET_FIELDS,
  TenancyConfig,
  WebhooksConfig,
} from './namespaces';

export class AppConfig {
  constructor(
    readonly http: HttpConfig,
    readonly database: DatabaseConfig,
    readonly redis: RedisConfig,
    readonly auth: AuthConfig,
    readonly idempotency: IdempotencyConfig,
    readonly tenancy: TenancyConfig,
    readonly log: LogConfig,
    readonly billing: BillingConfig,
    readonly webhooks: WebhooksConfig,
  ) {}

  /** Embedded: PGlite and in-process stores, for one-command local runs. */
  get embedded(): boolean {
    return this.database.embedded;
  }
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function readNamespace<T extends object>(cls: new () => T, env: Env, problems: string[]): T {
  const defaults = new cls();
  const names: Record<string, string> = Reflect.getMetadata(ENV_NAME, defaults) ?? {};
  const raw: Record<string, unknown> = {};
  for (const [field, variable] of Object.entries(names)) {
    const value = env[variable];
    if (value === undefined || value === '') continue;
    raw[field] = parseScalar(value, (defaults as Record<string, unknown>)[field]);
  }
  const instance = plainToInstance(cls, { ...defaults, ...raw });
  // A value that failed to parse (e.g. PORT=abc) stays a string and fails validation below.
  const secrets: string[] = Reflect.getMetadata(SECRET_FIELDS, defaults) ?? [];
  for (const error of validateSync(instance, { forbidUnknownValues: false })) {
    problems.push(describe(error, names, secrets.includes(error.property)));
  }
  return instance;
}

function parseScalar(value: string, fallback: unknown): unknown {
  if (typeof fallback === 'boolean') {
    if (/^(true|1|yes)$/i.test(value)) return true;
    if (/^(false|0|no)$/i.test(value)) return false;
    return value;
  }
  if (typeof fallback === 'number') return /^-?\d+$/.test(value) ? Number(value) : value;
  return value;
}

function describe(error: ValidationError, names: Record<string, string>, secret: boolean): string {
  const variable = names[error.property] ?? error.property;
  const reasons = Object.values(error.constraints ?? {}).map((m) => m.replace(`${error.property} `, ''));
  // A rejected key is still (nearly) a key: the message names the variable, never the value.
  const got = secret ? '<redacted>' : JSON.stringify(error.value);
  return `${variable}: ${reasons.join('; ')} (got ${got})`;
}

/**
 * Reads and validates every namespace; throws one ConfigError listing every bad variable.
 * `forService: false` is for tools (migrate) that need no platform key.
 */
export function loadConfig(env: Env = process.env, { forService = true }: { forService?: boolean } = {}): AppConfig {
  const problems: string[] = [];
  const config = new AppConfig(
    readNamespace(HttpConfig, env, problems),
    readNamespace(DatabaseConfig, env, problems),
    readNamespace(RedisConfig, env, problems),
    readNamespace(AuthConfig, env, problems),
    readNamespace(IdempotencyConfig, env, problems),
    readNamespace(TenancyConfig, env, problems),
    readNamespace(LogConfig, env, problems),
    readNamespace(BillingConfig, env, problems),
    readNamespace(WebhooksConfig, env, problems),
  );
  const billing = config.billing;
  for (const [live, test, names] of [
    [billing.flexpriceApiKey, billing.flexpriceApiKeyTest, 'FLEXPRICE_API_KEY and FLEXPRICE_API_KEY_TEST'],
    [billing.metronomeBearerToken, billing.metronomeBearerTokenTest, 'METRONOME_BEARER_TOKEN and METRONOME_BEARER_TOKEN_TEST'],
  ] as const) {
    if (live !== undefined && live === test) problems.push(`${names}: live and test must not share a vendor key`);
  }
  const hooks = config.webhooks;
  for (const [live, test, names] of [
    [hooks.flexpriceSecret, hooks.flexpriceSecretTest, 'FLEXPRICE_WEBHOOK_SECRET and FLEXPRICE_WEBHOOK_SECRET_TEST'],
    [
      hooks.flexpriceHeaderSecret,
      hooks.flexpriceHeaderSecretTest,
      'FLEXPRICE_WEBHOOK_HEADER_SECRET and FLEXPRICE_WEBHOOK_HEADER_SECRET_TEST',
    ],
    [hooks.metronomeSecret, hooks.metronomeSecretTest, 'METRONOME_WEBHOOK_SECRET and METRONOME_WEBHOOK_SECRET_TEST'],
  ] as const) {
    // The secret that verifies a delivery names its environment: one secret in both would be ambiguous.
    const shared = WebhooksConfig.list(live).filter((s) => WebhooksConfig.list(test).includes(s));
    if (shared.length > 0) problems.push(`${names}: live and test must not share a secret`);
  }
  if (forService && !config.embedded && !config.auth.platformKey) {
    problems.push('TOLLGATE_PLATFORM_KEY: required when DATABASE_URL is set (only embedded mode generates one)');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
