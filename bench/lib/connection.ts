/**
 * One keep-alive HTTP/1.1 connection to 127.0.0.1, one request at a time (no pipelining),
 * written on a raw `net.Socket` with a response parser just large enough for our servers
 * (status line, Content-Length or chunked bodies, Connection: close).
 *
 * Why not `http.Agent` (or undici): on this 2-core machine the client shares the CPU with
 * the server under test and Redis, so every microsecond the client spends is taken from
 * the figure being measured. Measured here against a trivial Node server, 64 connections:
 * `http.request` on a keep-alive Agent reached 12k req/s using 95% of a core (~79 µs of
 * client CPU per request); this connection reached 26k req/s using 66% (~25 µs). With the
 * Agent client the bare floor measured about 5k/s with the client itself taking 2/3 of a
 * core. A raw socket per virtual user is also the most predictable pool there is: C
 * connections are exactly C sockets, opened once, never shared, never queued inside a
 * library. Setup and probes, where speed does not matter, use `node:http` (load.ts `call`).
 */
import net from 'node:net';

export const LOOPBACK = '127.0.0.1';

export type Outcome = { status: number; body: string; error?: undefined } | { status: 0; body: ''; error: string };
type Callback = (o: Outcome) => void;

const HEADER_END = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');

interface Head {
  status: number;
  bodyStart: number;
  length: number | undefined;
  chunked: boolean;
  close: boolean;
}

export class Connection {
  private socket: net.Socket | undefined;
  private buf: Buffer | undefined;
  private head: Head | undefined;
  private cb: Callback | undefined;
  private wantBody = false;
  private lastError: string | undefined;
  /** When the request in flight was written (µs, monotonic), for the timeout sweep. */
  sentAtUs = 0;

  constructor(private readonly port: number) {}

  get busy(): boolean {
    return this.cb !== undefined;
  }

  /** `raw` is a complete HTTP/1.1 request (see serialize). */
  send(raw: string, wantBody: boolean, sentAtUs: number, cb: Callback): void {
    if (this.cb) throw new Error('connection busy: one request at a time');
    this.cb = cb;
    this.wantBody = wantBody;
    this.sentAtUs = sentAtUs;
    this.head = undefined;
    this.buf = undefined;
    // A socket the server has half-closed (idle keep-alive timeout) is replaced before writing, not after failing.
    if (!this.socket || this.socket.destroyed || !this.socket.writable) {
      this.socket?.destroy();
      this.socket = this.open();
    }
    this.socket.write(raw, 'utf8');
  }

  /** Fails the request in flight if it is older than `timeoutUs`. */
  expire(nowUs: number, timeoutUs: number): void {
    if (this.cb && nowUs - this.sentAtUs > timeoutUs) this.fail('ETIMEDOUT');
  }

  destroy(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }

  private open(): net.Socket {
    const socket = net.connect({ port: this.port, host: LOOPBACK, noDelay: true });
    this.lastError = undefined;
    // A socket this connection has let go of (destroyed after `Connection: close`) says nothing about the request now in flight.
    socket.on('data', (d: Buffer) => this.socket === socket && this.onData(d));
    socket.on('error', (e: NodeJS.ErrnoException) => this.socket === socket && (this.lastError = e.code ?? e.message));
    socket.on('close', () => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      if (!this.cb) return;
      if (this.head && this.head.length === undefined && !this.head.chunked) return this.complete(this.buf?.length ?? 0); // body ran to close
      this.fail(this.lastError ?? 'ECONNRESET');
    });
    return socket;
  }

  private fail(code: string): void {
    const cb = this.cb;
    this.cb = undefined;
    this.destroy();
    cb?.({ status: 0, body: '', error: code });
  }

  private onData(d: Buffer): void {
    if (!this.cb) return this.destroy(); // bytes nobody asked for: the stream is out of step
    this.buf = this.buf ? Buffer.concat([this.buf, d]) : d;
    const buf = this.buf;
    if (!this.head) {
      const end = buf.indexOf(HEADER_END);
      if (end < 0) return;
      const text = buf.toString('latin1', 0, end);
      const status = Number(text.slice(9, 12));
      if (!text.startsWith('HTTP/1.') || !Number.isInteger(status)) return this.fail('EPROTO');
      const length = /\r\ncontent-length:[ \t]*(\d+)/i.exec(text);
      this.head = {
        status,
        bodyStart: end + 4,
        length: length ? Number(length[1]) : status === 204 || status === 304 ? 0 : undefined,
        chunked: /\r\ntransfer-encoding:[ \t]*chunked/i.test(text),
        close: /\r\nconnection:[ \t]*close/i.test(text),
      };
    }
    const h = this.head;
    if (h.chunked) {
      const end = chunkedEnd(buf, h.bodyStart);
      if (end === -2) return this.fail('EPROTO');
      if (end >= 0) this.complete(end);
    } else if (h.length !== undefined) {
      if (buf.length >= h.bodyStart + h.length) this.complete(h.bodyStart + h.length);
    } // else: the body runs to the close
  }

  private complete(end: number): void {
    const h = this.head!;
    const buf = this.buf!;
    const cb = this.cb!;
    const keep = this.wantBody || h.status < 200 || h.status > 299;
    const body = keep ? (h.chunked ? dechunk(buf, h.bodyStart) : buf.toString('utf8', h.bodyStart, end)) : '';
    const leftover = buf.length > end;
    this.cb = undefined;
    this.head = undefined;
    this.buf = undefined;
    // A server that says close, or sends more than one answer, loses this socket; the next send opens another.
    if (h.close || leftover) this.destroy();
    cb({ status: h.status, body });
  }
}

/** Offset just past a complete chunked body starting at `from`; -1 if incomplete, -2 if malformed. */
function chunkedEnd(buf: Buffer, from: number): number {
  let at = from;
  for (;;) {
    const eol = buf.indexOf(CRLF, at);
    if (eol < 0) return -1;
    const size = parseInt(buf.toString('latin1', at, eol).split(';')[0], 16);
    if (!Number.isInteger(size) || size < 0) return -2;
    if (size === 0) {
      // Trailers (none expected) end with an empty line.
      const end = buf.indexOf(CRLF, eol + 2);
      if (end < 0) return -1;
      if (end === eol + 2) return end + 2;
      const trailersEnd = buf.indexOf(HEADER_END, eol);
      return trailersEnd < 0 ? -1 : trailersEnd + 4;
    }
    at = eol + 2 + size + 2;
    if (at > buf.length) return -1;
  }
}

function dechunk(buf: Buffer, from: number): string {
  const parts: Buffer[] = [];
  let at = from;
  for (;;) {
    const eol = buf.indexOf(CRLF, at);
    const size = parseInt(buf.toString('latin1', at, eol).split(';')[0], 16);
    if (size === 0) return Buffer.concat(parts).toString('utf8');
    parts.push(buf.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}
