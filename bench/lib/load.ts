/**
 * Load generator: closed loop (C connections, each waits for its answer) and open loop
 * (fixed offered rate, latency from the scheduled instant).
 *
 * The measured requests go over raw keep-alive sockets (connection.ts says why not
 * `http.Agent` or undici: client CPU on a 2-core machine). Setup calls use `node:http`.
 *
 * Bounded by construction: every request has a timeout (a sweep fails requests older than
 * it), every loop has a deadline, and a hard stop closes every socket if in-flight requests
 * outlive deadline + timeout. Targets are 127.0.0.1 only: callers give a port, never a host.
 */
import http from 'node:http';
import { Connection, LOOPBACK, Outcome } from './connection';
import { LatencyRecorder, LatencySummary, nowUs } from './latency';

export { LOOPBACK };

export interface BenchRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  headers?: Record<string, string>;
  /** Sent as JSON unless already a string. */
  body?: unknown;
}

export interface BenchResponse {
  status: number;
  /** The body text; read only when a follow-up needs it or the status is not 2xx. */
  body: string;
}

/** The i-th primary request (i counts primary requests only, from 0). */
export type RequestFactory = (i: number) => BenchRequest;

/**
 * Called after every 2xx answer; a request returned here is the same virtual user's next
 * request (e.g. a reserve's answer yields the commit of that hold), counted like any other.
 * Returning undefined goes back to the factory.
 */
export type FollowUp = (response: BenchResponse, request: BenchRequest) => BenchRequest | undefined;

export interface Workload {
  request: RequestFactory;
  followUp?: FollowUp;
}

export interface LoadResult {
  mode: 'closed' | 'open';
  /** Measured wall time from the first send to the last answer, seconds. */
  seconds: number;
  sent: number;
  /** 2xx answers. */
  ok: number;
  /** 2xx answers per second: what the tables report. */
  rps: number;
  /** Non-2xx answers by status. */
  httpErrors: Record<string, number>;
  /** Requests that got no HTTP answer, by error code (ECONNRESET, ETIMEDOUT, ...). */
  socketErrors: Record<string, number>;
  /** 2xx answers the workload could not use (a follow-up threw, e.g. a reserve answer without an id), by message. */
  workloadErrors: Record<string, number>;
  /** The first body seen per non-2xx status, shortened: what went wrong, not just how often. */
  errorSamples: Record<string, string>;
  /** Latency of 2xx answers, integer microseconds. */
  latencyUs: LatencySummary;
  /** The samples behind latencyUs, to merge runs measured in slices. */
  latencySamples: LatencyRecorder;
  /** CPU this process (the client) used during the run, in % of one core. */
  clientCpuPercent: number;
  /** Follow-ups due when the run ended (commits of holds still held), for the caller to settle unmeasured. */
  unsent: BenchRequest[];
  open?: OpenLoopReport;
}

export interface OpenLoopReport {
  offeredRate: number;
  scheduled: number;
  dispatched: number;
  /** How late sends left after their scheduled instant (timer granularity, event-loop stalls). */
  dispatchLagUs: LatencySummary;
  dispatchLagSamples: LatencyRecorder;
  /** Sends that left more than LATE_US after their instant. */
  lateSends: number;
  /** Sends that found every connection busy and queued for one. */
  connectionBound: number;
  maxInFlight: number;
  /** Follow-ups (e.g. commits) still waiting for a slot when the schedule ended (they are in `unsent`). */
  followUpsDropped: number;
  /** True if the generator itself could not keep the schedule: the figures understate the load. */
  fellBehind: boolean;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const LATE_US = 2_000;
/**
 * Dispatch lag p99 above this and the sends no longer keep the fixed rate's spacing. Lag
 * never flatters the figures (latency counts from the instant), but the offered pattern
 * was burstier than asked.
 */
const BEHIND_US = 5_000;
const ERROR_SAMPLE_CHARS = 300;

function payloadOf(req: BenchRequest): string | undefined {
  return req.body === undefined ? undefined : typeof req.body === 'string' ? req.body : JSON.stringify(req.body);
}

/** The request as HTTP/1.1 text, for Connection.send. */
export function serialize(req: BenchRequest, port: number): string {
  const payload = payloadOf(req);
  let text = `${req.method} ${req.path} HTTP/1.1\r\nhost: ${LOOPBACK}:${port}\r\n`;
  let contentType = false;
  for (const name in req.headers) {
    if (name.toLowerCase() === 'content-type') contentType = true;
    text += `${name}: ${req.headers[name]}\r\n`;
  }
  if (payload !== undefined) {
    if (!contentType) text += 'content-type: application/json\r\n';
    text += `content-length: ${Buffer.byteLength(payload)}\r\n`;
  }
  return `${text}\r\n${payload ?? ''}`;
}

/** One request with node:http (setup and probes only); `done` is called exactly once. */
function sendHttp(agent: http.Agent, port: number, req: BenchRequest, timeoutMs: number, done: (o: Outcome) => void): void {
  const payload = payloadOf(req);
  const headers: Record<string, string | number> = { ...req.headers };
  if (payload !== undefined) {
    headers['content-type'] ??= 'application/json';
    headers['content-length'] = Buffer.byteLength(payload);
  }
  let finished = false;
  const finish = (o: Outcome) => {
    if (finished) return;
    finished = true;
    done(o);
  };
  const cr = http.request({ agent, host: LOOPBACK, port, method: req.method, path: req.path, headers }, (res) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => finish({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    res.on('error', (e: NodeJS.ErrnoException) => finish({ status: 0, body: '', error: e.code ?? e.message }));
  });
  cr.setTimeout(timeoutMs, () => cr.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
  cr.on('error', (e: NodeJS.ErrnoException) => finish({ status: 0, body: '', error: e.code ?? e.message }));
  cr.end(payload);
}

/** Fails requests older than the timeout, four times a second. */
function timeoutSweep(connections: () => Iterable<Connection>, timeoutMs: number): NodeJS.Timeout {
  return setInterval(() => {
    const now = nowUs();
    for (const c of connections()) c.expire(now, timeoutMs * 1000);
  }, 250);
}

/** Counters shared by both modes. */
class Tally {
  sent = 0;
  ok = 0;
  readonly latency = new LatencyRecorder();
  readonly httpErrors: Record<string, number> = {};
  readonly socketErrors: Record<string, number> = {};
  readonly errorSamples: Record<string, string> = {};
  readonly workloadErrors: Record<string, number> = {};

  /** The follow-up of a 2xx answer; one that throws is counted, not fatal. */
  follow(followUp: FollowUp | undefined, res: BenchResponse | undefined, req: BenchRequest): BenchRequest | undefined {
    if (!res || !followUp) return undefined;
    try {
      return followUp(res, req);
    } catch (error) {
      const key = String((error as Error).message ?? error).slice(0, 120);
      this.workloadErrors[key] = (this.workloadErrors[key] ?? 0) + 1;
      return undefined;
    }
  }

  /** Records an outcome; returns the response if it was a 2xx. */
  take(o: Outcome, latencyUs: number): BenchResponse | undefined {
    if (o.error !== undefined) {
      this.socketErrors[o.error] = (this.socketErrors[o.error] ?? 0) + 1;
      return undefined;
    }
    if (o.status >= 200 && o.status <= 299) {
      this.ok++;
      this.latency.record(latencyUs);
      return o;
    }
    const key = String(o.status);
    this.httpErrors[key] = (this.httpErrors[key] ?? 0) + 1;
    this.errorSamples[key] ??= o.body.slice(0, ERROR_SAMPLE_CHARS);
    return undefined;
  }

  readonly unsent: BenchRequest[] = [];

  result(mode: 'closed' | 'open', startUs: number, endUs: number, cpuStart: NodeJS.CpuUsage): LoadResult {
    const seconds = Math.max(1, endUs - startUs) / 1e6;
    const cpu = process.cpuUsage(cpuStart);
    return {
      mode,
      seconds,
      sent: this.sent,
      ok: this.ok,
      rps: this.ok / seconds,
      httpErrors: this.httpErrors,
      socketErrors: this.socketErrors,
      errorSamples: this.errorSamples,
      workloadErrors: this.workloadErrors,
      latencyUs: this.latency.summary(),
      latencySamples: this.latency,
      clientCpuPercent: ((cpu.user + cpu.system) / (seconds * 1e6)) * 100,
      unsent: this.unsent,
    };
  }
}

export interface ClosedLoopOptions extends Workload {
  port: number;
  connections: number;
  seconds: number;
  timeoutMs?: number;
}

/**
 * C virtual users, one connection each; a user sends its next request (its follow-up if
 * any, else a new one) when the previous one answered, until `seconds` have passed. A
 * follow-up due after the deadline is not sent (a reserve's hold then expires by its TTL).
 */
export function closedLoop(o: ClosedLoopOptions): Promise<LoadResult> {
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const conns = Array.from({ length: o.connections }, () => new Connection(o.port));
  const tally = new Tally();
  const wantBody = o.followUp !== undefined;
  const cpuStart = process.cpuUsage();
  const startUs = nowUs();
  const deadlineUs = startUs + Math.round(o.seconds * 1e6);
  let next = 0;
  let running = o.connections;
  let lastUs = startUs;

  return new Promise((resolve) => {
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      clearTimeout(hardStop);
      clearInterval(sweep);
      for (const c of conns) c.destroy();
      resolve(tally.result('closed', startUs, lastUs, cpuStart));
    };
    // Requests still in flight this long after the deadline are abandoned (their timeouts have fired by then).
    const hardStop = setTimeout(settle, o.seconds * 1000 + timeoutMs + 1000);
    const sweep = timeoutSweep(() => conns, timeoutMs);

    const user = (conn: Connection, pending: BenchRequest | undefined) => {
      const t0 = nowUs();
      if (t0 >= deadlineUs) {
        if (pending) tally.unsent.push(pending);
        if (--running === 0) settle();
        return;
      }
      const req = pending ?? o.request(next++);
      tally.sent++;
      conn.send(serialize(req, o.port), wantBody, t0, (outcome) => {
        const t1 = nowUs();
        lastUs = t1;
        user(conn, tally.follow(o.followUp, tally.take(outcome, t1 - t0), req));
      });
    };
    for (const c of conns) user(c, undefined);
  });
}

export interface OpenLoopOptions extends Workload {
  port: number;
  /** Offered requests per second, follow-ups included. */
  rate: number;
  seconds: number;
  /** Connection cap; high enough that a healthy run never waits for a socket. */
  connections?: number;
  timeoutMs?: number;
}

/**
 * Sends at fixed instants start + k/rate whatever the answers, and measures each latency
 * from its instant, not from when it actually left: a stall in the server (or the client)
 * shows up as latency of every request that should have been sent meanwhile, which is
 * what a caller would have seen (no coordinated omission). Each instant carries the oldest
 * waiting follow-up, else a new request, so reserves and commits share the offered rate.
 */
export function openLoop(o: OpenLoopOptions): Promise<LoadResult> {
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxConnections = o.connections ?? 256;
  const all: Connection[] = [];
  const idle: Connection[] = [];
  /** Sends that found every connection busy, in order. */
  const waiting: ((conn: Connection) => void)[] = [];
  const tally = new Tally();
  const lag = new LatencyRecorder();
  const wantBody = o.followUp !== undefined;
  const total = Math.round(o.rate * o.seconds);
  const pending: BenchRequest[] = [];
  const cpuStart = process.cpuUsage();
  const startUs = nowUs();
  const instant = (k: number) => startUs + Math.round((k * 1e6) / o.rate);
  let k = 0;
  let next = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let lateSends = 0;
  let connectionBound = 0;
  let lastUs = startUs;
  let timer: NodeJS.Timeout | undefined;

  return new Promise((resolve) => {
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      clearTimeout(hardStop);
      clearInterval(sweep);
      if (timer) clearTimeout(timer);
      for (const c of all) c.destroy();
      tally.unsent.push(...pending);
      const result = tally.result('open', startUs, Math.max(lastUs, instant(total)), cpuStart);
      const dispatchLagUs = lag.summary();
      result.open = {
        offeredRate: o.rate,
        scheduled: total,
        dispatched: k,
        dispatchLagUs,
        dispatchLagSamples: lag,
        lateSends,
        connectionBound,
        maxInFlight,
        followUpsDropped: pending.length,
        fellBehind: k < total || connectionBound > 0 || dispatchLagUs.p99 > BEHIND_US,
      };
      resolve(result);
    };
    const hardStop = setTimeout(settle, o.seconds * 1000 + timeoutMs + 1000);
    const sweep = timeoutSweep(() => all, timeoutMs);

    const release = (conn: Connection) => {
      const queued = waiting.shift();
      if (queued) queued(conn);
      else idle.push(conn);
    };

    const dispatch = (scheduledUs: number, now: number) => {
      const req = pending.shift() ?? o.request(next++);
      const late = now - scheduledUs;
      lag.record(late);
      if (late > LATE_US) lateSends++;
      inFlight++;
      if (inFlight > maxInFlight) maxInFlight = inFlight;
      tally.sent++;
      const go = (conn: Connection) =>
        conn.send(serialize(req, o.port), wantBody, nowUs(), (outcome) => {
          const t1 = nowUs();
          lastUs = t1;
          inFlight--;
          const follow = tally.follow(o.followUp, tally.take(outcome, t1 - scheduledUs), req);
          if (follow) pending.push(follow);
          release(conn);
          if (k >= total && inFlight === 0) settle();
        });
      let conn = idle.pop();
      if (!conn && all.length < maxConnections) {
        conn = new Connection(o.port);
        all.push(conn);
      }
      if (conn) return go(conn);
      // Every connection is busy: the request waits, and its latency (from its instant) says so.
      connectionBound++;
      waiting.push(go);
    };

    const tick = () => {
      timer = undefined;
      const now = nowUs();
      while (k < total && instant(k) <= now) dispatch(instant(k++), now);
      if (k < total) {
        // Timers have 1 ms granularity; the lag this adds is measured and reported.
        timer = setTimeout(tick, Math.max(0, (instant(k) - nowUs()) / 1000));
      } else if (inFlight === 0) {
        settle();
      }
    };
    if (total === 0) settle();
    else tick();
  });
}

function addCounts(into: Record<string, number>, from: Record<string, number>): Record<string, number> {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
  return into;
}

/** Runs of one workload measured in slices, as if they were one run. */
export function mergeResults(parts: LoadResult[]): LoadResult {
  if (parts.length === 1) return parts[0];
  const seconds = parts.reduce((n, p) => n + p.seconds, 0);
  const ok = parts.reduce((n, p) => n + p.ok, 0);
  const latencySamples = LatencyRecorder.merge(parts.map((p) => p.latencySamples));
  const merged: LoadResult = {
    mode: parts[0].mode,
    seconds,
    sent: parts.reduce((n, p) => n + p.sent, 0),
    ok,
    rps: ok / seconds,
    httpErrors: parts.reduce((m, p) => addCounts(m, p.httpErrors), {} as Record<string, number>),
    socketErrors: parts.reduce((m, p) => addCounts(m, p.socketErrors), {} as Record<string, number>),
    errorSamples: Object.assign({}, ...parts.map((p) => p.errorSamples).reverse()),
    workloadErrors: parts.reduce((m, p) => addCounts(m, p.workloadErrors), {} as Record<string, number>),
    latencyUs: latencySamples.summary(),
    latencySamples,
    clientCpuPercent: parts.reduce((n, p) => n + p.clientCpuPercent * p.seconds, 0) / seconds,
    unsent: [],
  };
  const opens = parts.map((p) => p.open).filter((o): o is OpenLoopReport => o !== undefined);
  if (opens.length > 0) {
    const dispatchLagSamples = LatencyRecorder.merge(opens.map((o) => o.dispatchLagSamples));
    merged.open = {
      offeredRate: opens[0].offeredRate,
      scheduled: opens.reduce((n, o) => n + o.scheduled, 0),
      dispatched: opens.reduce((n, o) => n + o.dispatched, 0),
      dispatchLagUs: dispatchLagSamples.summary(),
      dispatchLagSamples,
      lateSends: opens.reduce((n, o) => n + o.lateSends, 0),
      connectionBound: opens.reduce((n, o) => n + o.connectionBound, 0),
      maxInFlight: Math.max(...opens.map((o) => o.maxInFlight)),
      followUpsDropped: opens.reduce((n, o) => n + o.followUpsDropped, 0),
      fellBehind: opens.some((o) => o.fellBehind),
    };
  }
  return merged;
}

/** Runs `fn` over `items` with at most `concurrency` at once (setup and priming, not measurement). */
export async function inPool<T>(items: Iterable<T>, concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  const it = items[Symbol.iterator]();
  const worker = async () => {
    for (let n = it.next(); !n.done; n = it.next()) await fn(n.value);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** One request outside any measurement, for setup and probes: status and parsed JSON body. */
export function call(
  port: number,
  req: BenchRequest,
  agent: http.Agent,
  timeoutMs = 30_000,
): Promise<{ status: number; json: unknown; text: string }> {
  return new Promise((resolve, reject) => {
    sendHttp(agent, port, req, timeoutMs, (o) => {
      if (o.error !== undefined) return reject(new Error(`${req.method} ${req.path}: ${o.error}`));
      let json: unknown;
      try {
        json = o.body ? JSON.parse(o.body) : undefined;
      } catch {
        json = undefined;
      }
      resolve({ status: o.status, json, text: o.body });
    });
  });
}
