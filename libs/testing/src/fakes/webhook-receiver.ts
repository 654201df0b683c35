import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo, Socket } from 'node:net';
import { Webhook } from 'standardwebhooks';

/**
 * What the receiver does to the next requests of one path (each fault applies to `times`
 * requests, default 1, then is spent; faults queue in order):
 * - `status`: answer that status (500, 503 or 429 with `retryAfter`), keeping nothing;
 * - `timeout`: answer nothing for `holdMs` (longer than the sender's timeout), then close;
 * - `redirect`: answer 307 to `location` (a sender must not follow it).
 */
export type ReceiverFault =
  | { kind: 'status'; status: number; retryAfter?: string; times?: number }
  | { kind: 'timeout'; holdMs?: number; times?: number }
  | { kind: 'redirect'; location: string; times?: number };

/** One request as the receiver saw it. */
export interface ReceivedRequest {
  path: string;
  method: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** Secrets of the path whose `Webhook.verify` accepted the request (empty: none did). */
  verifiedWith: string[];
  /** The parsed body, once verified. */
  payload: unknown;
  /** What the receiver answered (0: nothing, a timeout fault). */
  answered: number;
  at: number;
}

/**
 * A fake endpoint for outbound webhooks: a node:http server that verifies each delivery with
 * standardwebhooks' `Webhook.verify` against the secrets registered for its path (every one is
 * tried separately, so a test sees which secrets signed), records every request, and answers
 * 200 when verified, 401 when not, or whatever fault it was told.
 */
export class FakeWebhookReceiver {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly secrets = new Map<string, string[]>();
  private readonly faults = new Map<string, ReceiverFault[]>();
  readonly requests: ReceivedRequest[] = [];
  private base = '';

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.base;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = null;
  }

  /** The URL of a path of this receiver (`/hooks/<name>`). */
  url(path: string): string {
    return `${this.base}${path}`;
  }

  /** Secrets that may sign deliveries to `path` (a rotation adds the new one). */
  trust(path: string, ...secrets: string[]): void {
    this.secrets.set(path, [...(this.secrets.get(path) ?? []), ...secrets]);
  }

  fail(path: string, fault: ReceiverFault): void {
    this.faults.set(path, [...(this.faults.get(path) ?? []), fault]);
  }

  clearFaults(path?: string): void {
    if (path) this.faults.delete(path);
    else this.faults.clear();
  }

  /** Every request to `path`, in arrival order. */
  requestsTo(path: string): ReceivedRequest[] {
    return this.requests.filter((r) => r.path === path);
  }

  /** The verified deliveries `path` accepted (answered 2xx). */
  accepted(path: string): ReceivedRequest[] {
    return this.requestsTo(path).filter((r) => r.answered >= 200 && r.answered < 300);
  }

  private takeFault(path: string): ReceiverFault | undefined {
    const queue = this.faults.get(path);
    const fault = queue?.[0];
    if (!fault) return undefined;
    const left = (fault.times ?? 1) - 1;
    if (left <= 0) queue.shift();
    else queue[0] = { ...fault, times: left };
    return fault;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const path = (req.url ?? '/').split('?')[0];
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]));
    const verifiedWith: string[] = [];
    let payload: unknown;
    for (const secret of this.secrets.get(path) ?? []) {
      try {
        payload = new Webhook(secret).verify(body, headers);
        verifiedWith.push(secret);
      } catch {
        // not this secret
      }
    }
    const record: ReceivedRequest = {
      path,
      method: req.method ?? '',
      headers: req.headers,
      body,
      verifiedWith,
      payload,
      answered: 0,
      at: Date.now(),
    };
    this.requests.push(record);
    const fault = this.takeFault(path);
    if (fault?.kind === 'timeout') {
      setTimeout(() => res.socket?.destroy(), fault.holdMs ?? 5_000);
      return;
    }
    if (fault?.kind === 'redirect') {
      record.answered = 307;
      res.writeHead(307, { location: fault.location }).end();
      return;
    }
    if (fault?.kind === 'status') {
      record.answered = fault.status;
      res.writeHead(fault.status, fault.retryAfter ? { 'retry-after': fault.retryAfter } : {}).end('{"error":"fault"}');
      return;
    }
    record.answered = verifiedWith.length > 0 ? 200 : 401;
    res
      .writeHead(record.answered, { 'content-type': 'application/json' })
      .end(record.answered === 200 ? '{"ok":true}' : '{"error":"unverified"}');
  }
}
