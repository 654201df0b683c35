import { ConfigError, loadConfig } from './load-config';
import { WebhooksConfig } from './namespaces';

const PLATFORM_KEY = 'tg_platform_0123456789abcdefghijkl';

/** The problems a rejected environment produces (fails the test if it is accepted). */
function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be rejected`);
}

describe('loadConfig', () => {
  it('fills every namespace with its default when nothing is set', () => {
    const sut = loadConfig({});

    expect(sut.http).toMatchObject({ port: 3000, host: '0.0.0.0', bodyLimitBytes: 1024 * 1024, shutdownGraceMs: 25_000 });
    expect(sut.database).toMatchObject({ embeddedDataDir: '.data/pglite', poolMax: 10, migrateOnStart: true });
    expect(sut.database.url).toBeUndefined();
    expect(sut.redis).toMatchObject({ keyPrefix: 'tg:' });
    expect(sut.redis.url).toBeUndefined();
    expect(sut.auth).toMatchObject({ keyCacheMs: 10_000 });
    expect(sut.auth.platformKey).toBeUndefined();
    expect(sut.idempotency).toMatchObject({ ttlHours: 24, lockSeconds: 60 });
    expect(sut.tenancy).toMatchObject({ maxTtlSeconds: 86_400, settingsCacheMs: 30_000 });
    expect(sut.log).toMatchObject({ level: 'info', format: 'json' });
  });

  it('runs embedded when DATABASE_URL is unset, and needs no platform key then', () => {
    const sut = loadConfig({ REDIS_URL: 'redis://localhost:6379' });

    expect(sut.embedded).toBe(true);
    expect(sut.database.embedded).toBe(true);
    expect(sut.auth.platformKey).toBeUndefined();
  });

  it('is not embedded when DATABASE_URL is set with a platform key', () => {
    const sut = loadConfig({ DATABASE_URL: 'postgresql://postgres@db:5432/tollgate', TOLLGATE_PLATFORM_KEY: PLATFORM_KEY });

    expect(sut.embedded).toBe(false);
    expect(sut.database.url).toBe('postgresql://postgres@db:5432/tollgate');
    expect(sut.auth.platformKey).toBe(PLATFORM_KEY);
  });

  it('parses numbers and booleans from their strings', () => {
    const sut = loadConfig({ PORT: '8080', DATABASE_POOL_MAX: '4', DATABASE_MIGRATE_ON_START: 'false', IDEMPOTENCY_TTL_HOURS: '48' });

    expect(sut.http.port).toBe(8080);
    expect(sut.database.poolMax).toBe(4);
    expect(sut.database.migrateOnStart).toBe(false);
    expect(sut.idempotency.ttlHours).toBe(48);
  });

  it('treats an empty variable as unset', () => {
    const sut = loadConfig({ PORT: '', DATABASE_URL: '' });

    expect(sut.http.port).toBe(3000);
    expect(sut.embedded).toBe(true);
  });

  it('names PORT when PORT is not a port number', () => {
    expect(problemsOf({ PORT: 'abc' })).toEqual([expect.stringMatching(/^PORT: /)]);
    expect(problemsOf({ PORT: '70000' })).toEqual([expect.stringMatching(/^PORT: .*65535/)]);
    expect(problemsOf({ PORT: '3.5' })).toEqual([expect.stringMatching(/^PORT: .*integer/)]);
  });

  it('requires TOLLGATE_PLATFORM_KEY when DATABASE_URL is set, naming it', () => {
    expect(problemsOf({ DATABASE_URL: 'postgresql://postgres@localhost:5432/tollgate' })).toEqual([
      expect.stringMatching(/^TOLLGATE_PLATFORM_KEY: required when DATABASE_URL is set/),
    ]);
  });

  it('refuses a platform key shorter than 24 characters', () => {
    expect(problemsOf({ TOLLGATE_PLATFORM_KEY: 'short' })).toEqual([
      expect.stringMatching(/^TOLLGATE_PLATFORM_KEY: must be at least 24 characters/),
    ]);
  });

  it('lists every bad variable at once, in one error', () => {
    const problems = problemsOf({ PORT: 'abc', LOG_LEVEL: 'loud', REDIS_URL: 'http://cache:6379', IDEMPOTENCY_TTL_HOURS: '1' });

    expect(problems).toHaveLength(4);
    for (const variable of ['PORT', 'LOG_LEVEL', 'REDIS_URL', 'IDEMPOTENCY_TTL_HOURS']) {
      expect(problems).toContainEqual(expect.stringMatching(new RegExp(`^${variable}: `)));
    }
  });

  it('puts every problem in the message an operator reads', () => {
    let message = '';
    try {
      loadConfig({ PORT: 'abc', DATABASE_URL: 'mysql://db/tollgate' });
    } catch (error) {
      message = (error as Error).message;
    }

    expect(message).toMatch(/^Invalid configuration:/);
    expect(message).toContain('PORT: ');
    expect(message).toContain('DATABASE_URL: must be a postgres:// or postgresql:// URL');
    expect(message).toContain('TOLLGATE_PLATFORM_KEY: ');
  });

  describe('billing vendors', () => {
    it('has no vendor credentials by default: every backend is unconfigured, nothing is required', () => {
      const sut = loadConfig({});

      expect(sut.billing).toMatchObject({
        flexpriceBaseUrl: 'https://us.api.flexprice.io/v1',
        metronomeBaseUrl: 'https://api.metronome.com',
        vendorTimeoutMs: 10_000,
      });
      expect(sut.billing.flexpriceApiKey).toBeUndefined();
      expect(sut.billing.metronomeBearerTokenTest).toBeUndefined();
    });

    it('reads each backend per environment', () => {
      const sut = loadConfig({
        FLEXPRICE_BASE_URL: 'http://localhost:4010/v1',
        FLEXPRICE_API_KEY: 'fp_live_key_1',
        FLEXPRICE_BASE_URL_TEST: 'http://localhost:4010/v1',
        FLEXPRICE_API_KEY_TEST: 'fp_test_key_1',
        METRONOME_BASE_URL: 'http://localhost:4020',
        METRONOME_BEARER_TOKEN: 'mn_live_token',
        METRONOME_BEARER_TOKEN_TEST: 'mn_test_token',
      });

      expect(sut.billing).toMatchObject({
        flexpriceBaseUrl: 'http://localhost:4010/v1',
        flexpriceApiKey: 'fp_live_key_1',
        flexpriceApiKeyTest: 'fp_test_key_1',
        metronomeBaseUrl: 'http://localhost:4020',
        metronomeBaseUrlTest: 'https://api.metronome.com',
        metronomeBearerToken: 'mn_live_token',
        metronomeBearerTokenTest: 'mn_test_token',
      });
    });

    it('refuses a Flexprice base URL without /v1, and one key for live and test', () => {
      const problems = problemsOf({
        FLEXPRICE_BASE_URL: 'http://localhost:4010',
        METRONOME_BEARER_TOKEN: 'same_token_1',
        METRONOME_BEARER_TOKEN_TEST: 'same_token_1',
      });

      expect(problems).toContainEqual(expect.stringMatching(/^FLEXPRICE_BASE_URL: must end with \/v1/));
      expect(problems).toContainEqual('METRONOME_BEARER_TOKEN and METRONOME_BEARER_TOKEN_TEST: live and test must not share a vendor key');
    });

    it('never echoes a rejected key, nor serializes an accepted one', () => {
      const problems = problemsOf({ FLEXPRICE_API_KEY: 'fp secret with spaces' });
      const sut = loadConfig({ FLEXPRICE_API_KEY: 'fp_live_secret_1' });

      expect(problems).toEqual(['FLEXPRICE_API_KEY: must be 8 to 512 characters without whitespace (got <redacted>)']);
      expect(JSON.stringify(sut)).not.toContain('fp_live_secret_1');
      expect(JSON.stringify(sut.billing)).toContain('"flexpriceApiKey":"<redacted>"');
    });
  });

  describe('webhook secrets', () => {
    const OLD = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const NEW = 'whsec_dGVzdC1lbnZpcm9ubWVudC1zZWNyZXQ=';

    it('takes a space-separated list for a rotation, and lists it back', () => {
      const sut = loadConfig({ FLEXPRICE_WEBHOOK_SECRET: `${OLD} ${NEW}`, METRONOME_WEBHOOK_SECRET: 'metronome-secret-0123456789' });

      expect(WebhooksConfig.list(sut.webhooks.flexpriceSecret)).toEqual([OLD, NEW]);
      expect(WebhooksConfig.list(sut.webhooks.metronomeSecret)).toEqual(['metronome-secret-0123456789']);
      expect(sut.webhooks).toMatchObject({ flexpriceHeaderName: 'x-tollgate-webhook-secret', inboundRate: 2_000, allowPrivateUrls: false });
    });

    it('refuses a Svix secret without whsec_, a short shared secret, and one secret in live and test, never echoing them', () => {
      const problems = problemsOf({
        FLEXPRICE_WEBHOOK_SECRET: 'not-a-svix-secret-at-all',
        FLEXPRICE_WEBHOOK_HEADER_SECRET: 'short',
        METRONOME_WEBHOOK_SECRET: 'metronome-secret-0123456789 other-secret-0123456789',
        METRONOME_WEBHOOK_SECRET_TEST: 'other-secret-0123456789',
      });

      expect(problems).toContainEqual(expect.stringMatching(/^FLEXPRICE_WEBHOOK_SECRET: must be one to five whsec_ secrets .*<redacted>/));
      expect(problems).toContainEqual(expect.stringMatching(/^FLEXPRICE_WEBHOOK_HEADER_SECRET: must be one to five secrets/));
      expect(problems).toContainEqual('METRONOME_WEBHOOK_SECRET and METRONOME_WEBHOOK_SECRET_TEST: live and test must not share a secret');
      expect(problems.join('\n')).not.toMatch(/not-a-svix|short|other-secret/);
      expect(JSON.stringify(loadConfig({ FLEXPRICE_WEBHOOK_SECRET: OLD }))).not.toContain(OLD);
    });
  });
});
