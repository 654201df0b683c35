import 'reflect-metadata';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, IsUrl, Matches, Max, MaxLength, Min, MinLength } from 'class-validator';

/**
 * Each namespace is a class: validated once at start-up, then injected by its class
 * (`constructor(private readonly http: HttpConfig)`). The `@Env` name on every field is
 * the variable it comes from, so an error names what the operator must fix.
 */
export const ENV_NAME = Symbol('env-name');
function Env(name: string): PropertyDecorator {
  return (target, key) => {
    const names: Record<string, string> = Reflect.getMetadata(ENV_NAME, target) ?? {};
    Reflect.defineMetadata(ENV_NAME, { ...names, [key as string]: name }, target);
  };
}

/** Fields whose value never appears in an error message or a log line (vendor keys). */
export const SECRET_FIELDS = Symbol('secret-fields');
function Secret(): PropertyDecorator {
  return (target, key) => {
    const secrets: string[] = Reflect.getMetadata(SECRET_FIELDS, target) ?? [];
    Reflect.defineMetadata(SECRET_FIELDS, [...secrets, key as string], target);
  };
}

export class HttpConfig {
  @Env('PORT')
  @IsInt()
  @Min(0)
  @Max(65535)
  port = 3000;

  @Env('HOST')
  @IsString()
  @MinLength(1)
  host = '0.0.0.0';

  /** Largest accepted request body; bigger ones get 413. */
  @Env('HTTP_BODY_LIMIT_BYTES')
  @IsInt()
  @Min(1024)
  @Max(10 * 1024 * 1024)
  bodyLimitBytes = 1024 * 1024;

  /** How long SIGTERM waits for in-flight requests before the process exits anyway. */
  @Env('SHUTDOWN_GRACE_MS')
  @IsInt()
  @Min(0)
  @Max(600_000)
  shutdownGraceMs = 25_000;

  /**
   * What this instance serves: `all`, or `webhooks` (the vendors' deliveries, health and metrics
   * only; everything else 404), for instances that take inbound vendor webhooks apart from the
   * ones on the admission path (decision 030).
   */
  @Env('TOLLGATE_ROUTES')
  @IsIn(['all', 'webhooks'])
  routes: 'all' | 'webhooks' = 'all';
}

export class DatabaseConfig {
  /** Postgres URL. Unset: embedded PGlite. */
  @Env('DATABASE_URL')
  @IsOptional()
  @Matches(/^postgres(ql)?:\/\/.+/, { message: 'must be a postgres:// or postgresql:// URL' })
  url?: string;

  /** Embedded mode only: where PGlite keeps its files; `memory://` keeps nothing. */
  @Env('PGLITE_DATA_DIR')
  @IsString()
  @MinLength(1)
  embeddedDataDir = '.data/pglite';

  @Env('DATABASE_POOL_MAX')
  @IsInt()
  @Min(1)
  @Max(200)
  poolMax = 10;

  /** Apply pending migrations at start-up (an advisory lock serialises instances). */
  @Env('DATABASE_MIGRATE_ON_START')
  @IsBoolean()
  migrateOnStart = true;

  get embedded(): boolean {
    return this.url === undefined;
  }
}

export class RedisConfig {
  /** Redis URL. Unset: the in-process adapters (single instance only). */
  @Env('REDIS_URL')
  @IsOptional()
  @Matches(/^rediss?:\/\/.+/, { message: 'must be a redis:// or rediss:// URL' })
  url?: string;

  @Env('REDIS_KEY_PREFIX')
  @IsString()
  @MaxLength(64)
  keyPrefix = 'tg:';
}

export class AuthConfig {
  /** Registered at start-up as a platform key with every scope. Required unless embedded. */
  @Env('TOLLGATE_PLATFORM_KEY')
  @IsOptional()
  @IsString()
  @MinLength(24, { message: 'must be at least 24 characters' })
  @MaxLength(256)
  platformKey?: string;

  /** How long a key lookup is cached in-process; a revocation is also broadcast. */
  @Env('AUTH_KEY_CACHE_MS')
  @IsInt()
  @Min(0)
  @Max(300_000)
  keyCacheMs = 10_000;

  /** Requests per second an organization key may send to one instance (bursts of twice that); 0: no limit. */
  @Env('RATE_LIMIT_ORG_KEY_PER_SECOND')
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  orgKeyPerSecond = 1_000;

  /** The same for platform keys (the platform's own services); 0, the default: no limit. */
  @Env('RATE_LIMIT_PLATFORM_KEY_PER_SECOND')
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  platformKeyPerSecond = 0;
}

export class IdempotencyConfig {
  /** How long a stored response is replayed; API.md promises at least 24 h. */
  @Env('IDEMPOTENCY_TTL_HOURS')
  @IsInt()
  @Min(24)
  @Max(24 * 30)
  ttlHours = 24;

  /** How long an in-flight request owns its key before a retry may take it over. */
  @Env('IDEMPOTENCY_LOCK_SECONDS')
  @IsInt()
  @Min(5)
  @Max(3600)
  lockSeconds = 60;
}

export class TenancyConfig {
  /** Upper bound for any organization's `max_ttl_seconds` setting. */
  @Env('MAX_TTL_SECONDS')
  @IsInt()
  @Min(1)
  @Max(86_400)
  maxTtlSeconds = 86_400;

  /** How long settings stay cached in-process; writes also invalidate across instances. */
  @Env('SETTINGS_CACHE_MS')
  @IsInt()
  @Min(0)
  @Max(600_000)
  settingsCacheMs = 30_000;
}

export class LogConfig {
  @Env('LOG_LEVEL')
  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  level = 'info';

  /** `json` for machines (default); `pretty` is not offered: pipe through pino-pretty. */
  @Env('LOG_FORMAT')
  @IsIn(['json'])
  format = 'json';
}

const VENDOR_URL = { require_tld: false, require_protocol: true, protocols: ['http', 'https'] };
/** A vendor key: one token, no whitespace (a pasted newline would fail every call, not start-up). */
const VENDOR_KEY = /^\S{8,512}$/;

/**
 * Billing vendors' endpoints and credentials, one set per environment: `live` and `test`
 * never share a key (a test event must never reach a live account). A backend without a key
 * for an environment is "not configured" there and cannot be chosen for it. Keys are secrets:
 * never logged, never echoed in a validation error, redacted when serialized.
 */
export class BillingConfig {
  /** Flexprice API base, including `/v1` (the SDK and the REST paths are relative to it). */
  @Env('FLEXPRICE_BASE_URL')
  @IsUrl(VENDOR_URL)
  @Matches(/\/v1$/, { message: 'must end with /v1 (no trailing slash)' })
  flexpriceBaseUrl = 'https://us.api.flexprice.io/v1';

  @Env('FLEXPRICE_API_KEY')
  @Secret()
  @IsOptional()
  @Matches(VENDOR_KEY, { message: 'must be 8 to 512 characters without whitespace' })
  flexpriceApiKey?: string;

  @Env('FLEXPRICE_BASE_URL_TEST')
  @IsUrl(VENDOR_URL)
  @Matches(/\/v1$/, { message: 'must end with /v1 (no trailing slash)' })
  flexpriceBaseUrlTest = 'https://us.api.flexprice.io/v1';

  @Env('FLEXPRICE_API_KEY_TEST')
  @Secret()
  @IsOptional()
  @Matches(VENDOR_KEY, { message: 'must be 8 to 512 characters without whitespace' })
  flexpriceApiKeyTest?: string;

  /** Metronome API base, without `/v1` (the SDK adds it). */
  @Env('METRONOME_BASE_URL')
  @IsUrl(VENDOR_URL)
  metronomeBaseUrl = 'https://api.metronome.com';

  @Env('METRONOME_BEARER_TOKEN')
  @Secret()
  @IsOptional()
  @Matches(VENDOR_KEY, { message: 'must be 8 to 512 characters without whitespace' })
  metronomeBearerToken?: string;

  @Env('METRONOME_BASE_URL_TEST')
  @IsUrl(VENDOR_URL)
  metronomeBaseUrlTest = 'https://api.metronome.com';

  @Env('METRONOME_BEARER_TOKEN_TEST')
  @Secret()
  @IsOptional()
  @Matches(VENDOR_KEY, { message: 'must be 8 to 512 characters without whitespace' })
  metronomeBearerTokenTest?: string;

  /** How long one vendor call may take before it counts as failed (retryable). */
  @Env('BILLING_VENDOR_TIMEOUT_MS')
  @IsInt()
  @Min(100)
  @Max(120_000)
  vendorTimeoutMs = 10_000;

  /** Run the outbox dispatcher in this instance (several instances may: leases keep them apart). */
  @Env('BILLING_DISPATCH_ENABLED')
  @IsBoolean()
  dispatchEnabled = true;

  /** Pause between dispatcher rounds when there was nothing to send. */
  @Env('BILLING_DISPATCH_INTERVAL_MS')
  @IsInt()
  @Min(10)
  @Max(60_000)
  dispatchIntervalMs = 250;

  /** Vendor calls in flight per backend. */
  @Env('BILLING_DISPATCH_CONCURRENCY')
  @IsInt()
  @Min(1)
  @Max(64)
  dispatchConcurrency = 4;

  /** Events per second per backend, e.g. `flexprice=2000,metronome=1000`; a backend not named gets BILLING_RATE_DEFAULT. */
  @Env('BILLING_RATE_LIMITS')
  @IsString()
  @Matches(/^$|^[a-z0-9_-]+=\d+(,[a-z0-9_-]+=\d+)*$/, { message: 'must be name=events_per_second pairs separated by commas' })
  rateLimits = '';

  @Env('BILLING_RATE_DEFAULT')
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  rateDefault = 10_000;

  /** First retry delay; doubled per attempt (full jitter) up to BILLING_RETRY_MAX_MS. */
  @Env('BILLING_RETRY_BASE_MS')
  @IsInt()
  @Min(1)
  @Max(3_600_000)
  retryBaseMs = 1_000;

  @Env('BILLING_RETRY_MAX_MS')
  @IsInt()
  @Min(1)
  @Max(86_400_000)
  retryMaxMs = 300_000;

  /** A delivery is dead after this many failed attempts… */
  @Env('BILLING_MAX_ATTEMPTS')
  @IsInt()
  @Min(1)
  @Max(1_000)
  maxAttempts = 25;

  /** …or once its event is this old (Metronome forgets a transaction_id after 34 days). */
  @Env('BILLING_DEAD_AFTER_SECONDS')
  @IsInt()
  @Min(1)
  @Max(2_592_000)
  deadAfterSeconds = 259_200;

  /** How long a leased delivery is reserved for its instance; past it another instance may send it (a crashed one). */
  @Env('BILLING_LEASE_MS')
  @IsInt()
  @Min(1_000)
  @Max(3_600_000)
  leaseMs = 60_000;

  /** Consecutive failed calls that open a backend's circuit breaker… */
  @Env('BILLING_BREAKER_FAILURES')
  @IsInt()
  @Min(1)
  @Max(1_000)
  breakerFailures = 5;

  /** …and how long it stays open before one call probes the vendor. */
  @Env('BILLING_BREAKER_HALF_OPEN_MS')
  @IsInt()
  @Min(10)
  @Max(3_600_000)
  breakerHalfOpenMs = 10_000;

  /** Events per second per backend, from BILLING_RATE_LIMITS and BILLING_RATE_DEFAULT. */
  rateFor(backend: string): number {
    for (const pair of this.rateLimits.split(',').filter(Boolean)) {
      const [name, rate] = pair.split('=');
      if (name === backend) return Number(rate);
    }
    return this.rateDefault;
  }

  /** Keys never leave the process through a log line or a JSON dump of the configuration. */
  toJSON(): Record<string, unknown> {
    const secrets: string[] = Reflect.getMetadata(SECRET_FIELDS, this) ?? [];
    return Object.fromEntries(Object.entries(this).map(([k, v]) => [k, secrets.includes(k) && v !== undefined ? '<redacted>' : v]));
  }
}

/** Secrets of one kind, space-separated: during a rotation the old and the new are both listed (both accepted) until the old is removed. */
const SECRET_LIST = /^\S{16,512}( \S{16,512}){0,4}$/;
const SVIX_SECRET_LIST = /^whsec_[A-Za-z0-9+/=]{16,512}( whsec_[A-Za-z0-9+/=]{16,512}){0,4}$/;

export class WebhooksConfig {
  /** Flexprice Svix deliveries (Flexprice Cloud): the endpoint's `whsec_` secret(s), live environment. */
  @Env('FLEXPRICE_WEBHOOK_SECRET')
  @Secret()
  @IsOptional()
  @Matches(SVIX_SECRET_LIST, { message: 'must be one to five whsec_ secrets separated by spaces' })
  flexpriceSecret?: string;

  @Env('FLEXPRICE_WEBHOOK_SECRET_TEST')
  @Secret()
  @IsOptional()
  @Matches(SVIX_SECRET_LIST, { message: 'must be one to five whsec_ secrets separated by spaces' })
  flexpriceSecretTest?: string;

  /** Flexprice native deliveries (self-hosted, unsigned): the shared secret configured in its static webhook headers. */
  @Env('FLEXPRICE_WEBHOOK_HEADER_SECRET')
  @Secret()
  @IsOptional()
  @Matches(SECRET_LIST, { message: 'must be one to five secrets of 16 to 512 characters separated by spaces' })
  flexpriceHeaderSecret?: string;

  @Env('FLEXPRICE_WEBHOOK_HEADER_SECRET_TEST')
  @Secret()
  @IsOptional()
  @Matches(SECRET_LIST, { message: 'must be one to five secrets of 16 to 512 characters separated by spaces' })
  flexpriceHeaderSecretTest?: string;

  /** The header that carries the native shared secret. */
  @Env('FLEXPRICE_WEBHOOK_HEADER_NAME')
  @Matches(/^[a-z0-9-]{1,64}$/, { message: 'must be a lower-case header name' })
  flexpriceHeaderName = 'x-tollgate-webhook-secret';

  /** Metronome's per-webhook signing secret(s), used as-is (no prefix, no base64). */
  @Env('METRONOME_WEBHOOK_SECRET')
  @Secret()
  @IsOptional()
  @Matches(SECRET_LIST, { message: 'must be one to five secrets of 16 to 512 characters separated by spaces' })
  metronomeSecret?: string;

  @Env('METRONOME_WEBHOOK_SECRET_TEST')
  @Secret()
  @IsOptional()
  @Matches(SECRET_LIST, { message: 'must be one to five secrets of 16 to 512 characters separated by spaces' })
  metronomeSecretTest?: string;

  /** Inbound deliveries per second per source (vendor and client address); more get 429 with Retry-After. */
  @Env('WEBHOOK_INBOUND_RATE')
  @IsInt()
  @Min(1)
  @Max(100_000)
  inboundRate = 2_000;

  /**
   * How long an inbound delivery's receipt waits for others to be written with it (one statement,
   * one commit). Vendors wait seconds for an answer; a few milliseconds here divide Postgres' cost
   * per delivery by the number of deliveries that arrive in them. 0: to the end of the event loop's turn.
   */
  @Env('WEBHOOK_RECEIPT_BATCH_MS')
  @IsInt()
  @Min(0)
  @Max(1_000)
  receiptBatchMs = 10;

  /** Outbound endpoints may point at loopback, link-local or private addresses (local development, tests). */
  @Env('WEBHOOK_ALLOW_PRIVATE_URLS')
  @IsBoolean()
  allowPrivateUrls = false;

  /** Run the outbound webhook dispatcher in this instance (leases keep several apart). */
  @Env('WEBHOOK_DISPATCH_ENABLED')
  @IsBoolean()
  dispatchEnabled = true;

  @Env('WEBHOOK_DISPATCH_INTERVAL_MS')
  @IsInt()
  @Min(10)
  @Max(60_000)
  dispatchIntervalMs = 250;

  /** How long one outbound delivery may take (connect to last byte). */
  @Env('WEBHOOK_TIMEOUT_MS')
  @IsInt()
  @Min(100)
  @Max(60_000)
  timeoutMs = 10_000;

  /** First retry delay, doubled per attempt (with jitter) up to WEBHOOK_RETRY_MAX_MS. */
  @Env('WEBHOOK_RETRY_BASE_MS')
  @IsInt()
  @Min(1)
  @Max(3_600_000)
  retryBaseMs = 5_000;

  @Env('WEBHOOK_RETRY_MAX_MS')
  @IsInt()
  @Min(1)
  @Max(86_400_000)
  retryMaxMs = 3_600_000;

  /** An outbound delivery is dead after this many failed attempts. */
  @Env('WEBHOOK_MAX_ATTEMPTS')
  @IsInt()
  @Min(1)
  @Max(100)
  maxAttempts = 15;

  /** Consecutive failures that open an endpoint's circuit… */
  @Env('WEBHOOK_BREAKER_FAILURES')
  @IsInt()
  @Min(1)
  @Max(1_000)
  breakerFailures = 5;

  /** …and how long it stays open before one delivery probes it. */
  @Env('WEBHOOK_BREAKER_OPEN_MS')
  @IsInt()
  @Min(10)
  @Max(3_600_000)
  breakerOpenMs = 60_000;

  /** The secrets of a list variable (rotation: all of them are accepted). */
  static list(value: string | undefined): string[] {
    return value ? value.split(' ').filter(Boolean) : [];
  }

  toJSON(): Record<string, unknown> {
    const secrets: string[] = Reflect.getMetadata(SECRET_FIELDS, this) ?? [];
    return Object.fromEntries(Object.entries(this).map(([k, v]) => [k, secrets.includes(k) && v !== undefined ? '<redacted>' : v]));
  }
}
