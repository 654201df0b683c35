import { lookup as dnsLookup } from 'node:dns';
import { lookup as dnsLookupAsync } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { Injectable } from '@nestjs/common';
import { Webhook } from 'standardwebhooks';
import { WebhooksConfig } from '@tollgate/config';
import { checkUrlShape, refusedResolution } from '../../domain/address-guard';
import { AttemptOutcome, parseRetryAfter, statusError } from '../../domain/delivery-policy';
import { USER_AGENT } from '../../domain/webhook-message';

/** An address the guard refused while connecting (DNS answered something private). */
class RefusedAddress extends Error {}

/** How long a creation-time lookup may take before the URL is refused as unresolvable. */
const CREATE_LOOKUP_MS = 5_000;
/** Response bytes read (and dropped) at most: the status is all that counts. */
const MAX_RESPONSE_BYTES = 64 * 1024;

type DnsLookup = typeof dnsLookup;

/**
 * A `lookup` for the HTTP agent that checks every address the name resolves to and connects
 * only to checked ones: the check and the connection use the same answer, so a name that
 * rebinds to a private address between a check and the call (DNS rebinding) cannot slip by.
 */
export function guardedLookup(resolve: DnsLookup = dnsLookup): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, '', 0);
      const refused = refusedResolution(
        hostname,
        addresses.map((a) => a.address),
      );
      if (refused) return callback(new RefusedAddress(`address refused: ${refused}`), '', 0);
      if (options.all) return (callback as unknown as (e: null, a: typeof addresses) => void)(null, addresses);
      callback(null, addresses[0].address, addresses[0].family);
    });
  };
}

/**
 * Signs and sends one delivery: POST, Standard Webhooks headers (signed by the standardwebhooks
 * library, with every secret that signs now), no redirect followed, `timeoutMs` from the first
 * byte out to the last byte in. The SSRF guard runs here again at every attempt unless private
 * URLs are allowed.
 */
@Injectable()
export class WebhookSender {
  /** The resolver behind the guard (a test substitutes one that answers what a rebinding DNS would). */
  protected readonly lookup: LookupFunction = guardedLookup();

  constructor(private readonly config: WebhooksConfig) {}

  /** Why this URL may not be an endpoint, or null: its shape, then every address its name resolves to now. */
  async refuseAtCreation(url: string): Promise<string | null> {
    const shape = checkUrlShape(url, this.config.allowPrivateUrls);
    if (!shape.ok) return shape.reason;
    if (this.config.allowPrivateUrls || shape.literal) return null;
    let timer: NodeJS.Timeout | undefined;
    try {
      const addresses = await Promise.race([
        dnsLookupAsync(shape.host, { all: true, verbatim: true }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('lookup timed out')), CREATE_LOOKUP_MS);
        }),
      ]);
      return refusedResolution(
        shape.host,
        addresses.map((a) => a.address),
      );
    } catch (error) {
      return `${shape.host} does not resolve (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The `webhook-signature` header: one `v1,` signature per secret, space-separated. */
  static sign(secrets: readonly string[], msgId: string, at: Date, payload: string): string {
    return secrets.map((secret) => new Webhook(secret).sign(msgId, at, payload)).join(' ');
  }

  async send(url: string, msgId: string, payload: string, secrets: readonly string[]): Promise<AttemptOutcome> {
    const started = Date.now();
    const elapsed = () => Date.now() - started;
    const shape = checkUrlShape(url, this.config.allowPrivateUrls);
    if (!shape.ok) return { statusCode: null, error: `address refused: ${shape.reason}`, durationMs: elapsed() };
    const at = new Date();
    const headers = {
      'content-type': 'application/json',
      'user-agent': USER_AGENT,
      'webhook-id': msgId,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': WebhookSender.sign(secrets, msgId, at, payload),
      'content-length': String(Buffer.byteLength(payload)),
    };
    const client = shape.url.protocol === 'https:' ? https : http;
    return new Promise<AttemptOutcome>((resolve) => {
      let settled = false;
      const finish = (outcome: Omit<AttemptOutcome, 'durationMs'>) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ ...outcome, durationMs: elapsed() });
      };
      const request = client.request(
        shape.url,
        {
          method: 'POST',
          headers,
          agent: false,
          // IP literals never reach a lookup: checkUrlShape vetted them above.
          lookup: this.config.allowPrivateUrls ? undefined : this.lookup,
        },
        (response) => {
          let read = 0;
          response.on('data', (chunk: Buffer) => {
            read += chunk.length;
            if (read > MAX_RESPONSE_BYTES) response.destroy();
          });
          const done = () => {
            const statusCode = response.statusCode ?? 0;
            const retryAfter =
              statusCode === 429 || statusCode === 503 ? parseRetryAfter(response.headers['retry-after'], Date.now()) : undefined;
            finish({ statusCode, error: statusError(statusCode), ...(retryAfter !== undefined ? { retryAfterMs: retryAfter } : {}) });
          };
          response.on('end', done);
          response.on('close', done);
          response.on('error', done);
        },
      );
      const timer = setTimeout(() => {
        request.destroy();
        finish({ statusCode: null, error: `timed out after ${this.config.timeoutMs} ms` });
      }, this.config.timeoutMs);
      request.on('error', (error) => {
        const reason =
          error instanceof RefusedAddress ? error.message : `connection failed: ${(error as NodeJS.ErrnoException).code ?? error.message}`;
        finish({ statusCode: null, error: reason });
      });
      request.end(payload);
    });
  }
}
