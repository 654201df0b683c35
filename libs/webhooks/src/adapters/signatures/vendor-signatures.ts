import { Injectable } from '@nestjs/common';
import Metronome from '@metronome/sdk';
import { createHash, timingSafeEqual } from 'node:crypto';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { WebhooksConfig } from '@tollgate/config';
import type { Environment } from '@tollgate/tenancy';
import { WebhookSource } from '../../domain/vendor-signal';

/** Why a delivery was refused (recorded as the receipt's reason, and answered in the 401). */
export type RefusalReason =
  | 'not_configured'
  | 'missing_signature'
  | 'invalid_timestamp'
  | 'timestamp_too_old'
  | 'timestamp_too_new'
  | 'signature_mismatch'
  | 'body_not_utf8';

export type Verification =
  | {
      ok: true;
      environment: Environment;
      mode: 'svix' | 'native' | 'metronome';
      /** svix-id for Svix; null where the id is in the body (Metronome) or there is none (native). */
      deliveryId: string | null;
      /** The body as text, byte for byte what was signed (strict UTF-8, BOM kept). */
      text: string;
    }
  | { ok: false; reason: RefusalReason; detail: string; claimedId: string | null };

type Headers = Record<string, string | string[] | undefined>;
const header = (headers: Headers, name: string): string | undefined => {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
};

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const sha256 = (value: string | Buffer) => createHash('sha256').update(value).digest();

/** Secrets per environment, live first: the one that verifies names the delivery's environment. */
type Keyring<T> = { environment: Environment; keys: T[] }[];

/**
 * Verifies vendor deliveries with the vendors' own libraries (VENDORS.md): Svix deliveries with
 * `standardwebhooks` (what `svix`'s Webhook wraps: it only renames the svix-* headers, which we
 * do here, and it is ESM-only), Metronome's with `@metronome/sdk`'s verifySignature. Flexprice's
 * native mode signs nothing: a shared secret in a configured header, compared in constant time
 * (digests of equal length, so neither length nor content leaks). Every configured secret of an
 * environment is tried: during a rotation the old and the new both verify.
 */
@Injectable()
export class VendorSignatures {
  private readonly svix: Keyring<Webhook>;
  private readonly native: Keyring<Buffer>;
  private readonly metronomeSecrets: Keyring<string>;
  private readonly metronome = new Metronome({ bearerToken: 'unused-for-verification', webhookSecret: null }).webhooks;

  constructor(private readonly config: WebhooksConfig) {
    const ring = <T>(live: string | undefined, test: string | undefined, make: (secret: string) => T): Keyring<T> =>
      [
        { environment: 'live' as const, keys: WebhooksConfig.list(live).map(make) },
        { environment: 'test' as const, keys: WebhooksConfig.list(test).map(make) },
      ].filter((r) => r.keys.length > 0);
    this.svix = ring(config.flexpriceSecret, config.flexpriceSecretTest, (s) => new Webhook(s));
    this.native = ring(config.flexpriceHeaderSecret, config.flexpriceHeaderSecretTest, (s) => sha256(s));
    this.metronomeSecrets = ring(config.metronomeSecret, config.metronomeSecretTest, (s) => s);
  }

  configured(source: WebhookSource): boolean {
    return source === 'flexprice' ? this.svix.length + this.native.length > 0 : this.metronomeSecrets.length > 0;
  }

  verify(source: WebhookSource, raw: Buffer, headers: Headers): Verification {
    return source === 'flexprice' ? this.verifyFlexprice(raw, headers) : this.verifyMetronome(raw, headers);
  }

  private decode(raw: Buffer): string | null {
    try {
      return STRICT_UTF8.decode(raw);
    } catch {
      return null;
    }
  }

  private verifyFlexprice(raw: Buffer, headers: Headers): Verification {
    const svixId = header(headers, 'svix-id');
    const claimedId = svixId && svixId.length <= 256 ? svixId : null;
    const nativeSecret = header(headers, this.config.flexpriceHeaderName);
    if (svixId === undefined && nativeSecret === undefined) {
      if (!this.configured('flexprice')) return refuse('not_configured', 'no Flexprice webhook secret is configured', null);
      return refuse('missing_signature', `neither svix-id/svix-signature nor ${this.config.flexpriceHeaderName} is present`, null);
    }
    const text = this.decode(raw);
    if (text === null) return refuse('body_not_utf8', 'the body is not valid UTF-8', claimedId);
    if (svixId !== undefined) {
      if (this.svix.length === 0) return refuse('not_configured', 'FLEXPRICE_WEBHOOK_SECRET is not set (Svix deliveries)', claimedId);
      const mapped = {
        'webhook-id': svixId,
        'webhook-timestamp': header(headers, 'svix-timestamp') ?? '',
        'webhook-signature': header(headers, 'svix-signature') ?? '',
      };
      for (const { environment, keys } of this.svix) {
        for (const key of keys) {
          try {
            // Parsing is ours (secure-json-parse, after verification): a signed body that is not JSON is not a bad signature.
            key.verify(text, mapped, { jsonParse: false });
            return { ok: true, environment, mode: 'svix', deliveryId: svixId, text };
          } catch (error) {
            const refusal = svixRefusal(error);
            // A timestamp or header problem is the same for every secret: stop at the first.
            if (refusal.reason !== 'signature_mismatch') return { ...refusal, claimedId };
          }
        }
      }
      return refuse('signature_mismatch', 'no configured secret matches svix-signature', claimedId);
    }
    if (this.native.length === 0) return refuse('not_configured', 'FLEXPRICE_WEBHOOK_HEADER_SECRET is not set (native deliveries)', null);
    const given = sha256(nativeSecret ?? '');
    for (const { environment, keys } of this.native) {
      for (const key of keys) {
        if (timingSafeEqual(given, key)) return { ok: true, environment, mode: 'native', deliveryId: null, text };
      }
    }
    return refuse('signature_mismatch', `${this.config.flexpriceHeaderName} does not match a configured secret`, null);
  }

  private verifyMetronome(raw: Buffer, headers: Headers): Verification {
    if (this.metronomeSecrets.length === 0) return refuse('not_configured', 'METRONOME_WEBHOOK_SECRET is not set', null);
    // SDK ≥ 3.5 signs X-Metronome-Date; older senders and some proxies only have Date.
    const date = header(headers, 'x-metronome-date') ?? header(headers, 'date');
    const signature = header(headers, 'metronome-webhook-signature');
    if (date === undefined || signature === undefined) {
      return refuse('missing_signature', 'Metronome-Webhook-Signature and X-Metronome-Date (or Date) are required', null);
    }
    const text = this.decode(raw);
    if (text === null) return refuse('body_not_utf8', 'the body is not valid UTF-8', null);
    const signed = { 'X-Metronome-Date': date, 'Metronome-Webhook-Signature': signature };
    for (const { environment, keys } of this.metronomeSecrets) {
      for (const secret of keys) {
        try {
          this.metronome.verifySignature(text, signed, secret);
          return { ok: true, environment, mode: 'metronome', deliveryId: null, text };
        } catch (error) {
          const refusal = metronomeRefusal(error);
          if (refusal.reason !== 'signature_mismatch') return { ...refusal, claimedId: null };
        }
      }
    }
    return refuse('signature_mismatch', 'no configured secret matches Metronome-Webhook-Signature', null);
  }
}

function refuse(reason: RefusalReason, detail: string, claimedId: string | null): Verification {
  return { ok: false, reason, detail, claimedId };
}

function svixRefusal(error: unknown): { ok: false; reason: RefusalReason; detail: string } {
  const message = error instanceof Error ? error.message : String(error);
  if (!(error instanceof WebhookVerificationError)) return { ok: false, reason: 'signature_mismatch', detail: message };
  if (/too old/i.test(message)) return { ok: false, reason: 'timestamp_too_old', detail: 'svix-timestamp is more than 5 minutes old' };
  if (/too new/i.test(message)) return { ok: false, reason: 'timestamp_too_new', detail: 'svix-timestamp is more than 5 minutes ahead' };
  if (/missing/i.test(message))
    return { ok: false, reason: 'missing_signature', detail: 'svix-id, svix-timestamp and svix-signature are required' };
  if (/invalid signature headers/i.test(message))
    return { ok: false, reason: 'invalid_timestamp', detail: 'svix-timestamp is not a number' };
  return { ok: false, reason: 'signature_mismatch', detail: message };
}

function metronomeRefusal(error: unknown): { ok: false; reason: RefusalReason; detail: string } {
  const message = error instanceof Error ? error.message : String(error);
  if (/too old/i.test(message)) return { ok: false, reason: 'timestamp_too_old', detail: 'the date header is more than 5 minutes old' };
  if (/too new/i.test(message)) return { ok: false, reason: 'timestamp_too_new', detail: 'the date header is more than 5 minutes ahead' };
  if (/invalid timestamp/i.test(message)) return { ok: false, reason: 'invalid_timestamp', detail: 'the date header is not an HTTP date' };
  return { ok: false, reason: 'signature_mismatch', detail: message };
}
