import { createHash, randomBytes } from 'node:crypto';
import { Environment, KeyKind, Scope } from './access';

export interface ApiKey {
  id: string;
  kind: KeyKind;
  orgId: string | null;
  environment: Environment | null;
  scopes: Scope[];
  name: string | null;
  /** The secret's first characters, to recognise a key in a list; never enough to use it. */
  prefix: string;
  secretHash: string;
  createdAt: Date;
  revokedAt: Date | null;
}

/** The row id of the key registered from TOLLGATE_PLATFORM_KEY: a new value replaces the old. */
export const CONFIGURED_PLATFORM_KEY_ID = 'key_platform_configured';

/**
 * Secrets carry 192 random bits, so a fast hash is enough: nobody can brute-force the
 * preimage, and authentication stays one indexed lookup (no bcrypt on the hot path).
 */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function newKeyId(): string {
  return 'key_' + randomBytes(12).toString('base64url');
}

export function newSecret(kind: KeyKind, environment: Environment | null): string {
  const label = kind === 'platform' ? 'platform' : environment;
  return `tg_${label}_${randomBytes(24).toString('base64url')}`;
}

/**
 * `tg_live_` plus four random characters. The random part may itself contain `_`, so the
 * label is matched, never found by searching for underscores. A configured key of another
 * shape shows its first four characters only.
 */
export function secretPrefix(secret: string): string {
  const label = /^tg_(live|test|platform)_/.exec(secret);
  return label ? secret.slice(0, label[0].length + 4) : secret.slice(0, 4);
}
