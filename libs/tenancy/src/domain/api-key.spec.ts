import { hashSecret, newSecret, secretPrefix } from './api-key';

describe('API key secrets', () => {
  it('shows the label and exactly four random characters, even when the random part contains "_"', () => {
    for (let i = 0; i < 5_000; i++) {
      for (const [kind, env, label] of [
        ['org', 'live', 'tg_live_'],
        ['org', 'test', 'tg_test_'],
        ['platform', null, 'tg_platform_'],
      ] as const) {
        const secret = newSecret(kind, env);
        const sut = secretPrefix(secret);
        expect(sut).toBe(secret.slice(0, label.length + 4));
      }
    }
  });

  it('shows four characters of a configured key of any other shape', () => {
    expect(secretPrefix('my_very_long_configured_platform_key_value')).toBe('my_v');
  });

  it('carries 192 random bits and hashes to 64 hex characters', () => {
    const secret = newSecret('org', 'live');
    expect(Buffer.from(secret.slice('tg_live_'.length), 'base64url')).toHaveLength(24);
    expect(hashSecret(secret)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashSecret(secret)).not.toBe(hashSecret(secret + 'x'));
  });
});
