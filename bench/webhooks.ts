/**
 * `npm run bench:webhooks` (issue 13 item 5, issue 16 item 5): inbound vendor webhooks verified and
 * recorded while the same instance admits, with every figure a ratio against a baseline measured in
 * the same run, in interleaved slices (the machine is shared: drift hits every mode alike).
 *
 * Processes, each on its own pid so its CPU is its own: the fakes (`npm run fakes`), ONE service
 * instance from dist/ (Postgres + Redis, billing and webhook dispatchers off, webhook secrets set,
 * WEBHOOK_INBOUND_RATE high), the webhook load generator (this file with `--generator`: it pre-signs
 * every delivery before a slice starts and sends them open loop at a fixed rate), and the admission
 * load client (this process: reserve + commit, as bench:billing's workload).
 *
 * Delivery mix (per 100): 3 forged (Svix signature from another secret: 401, recorded as refused),
 * 3 replays of an earlier delivery's svix-id and bytes (200 duplicate), 10 Metronome
 * `payment_gate.payment_status` paid for an active organization (200 recorded: left as is), 40
 * Flexprice `invoice.update.finalized` (200 recorded) and 44 `wallet.credit_balance.dropped` (200
 * applied: alert), each naming one of BENCH_WEBHOOK_ORGS routed organizations' vendor customers.
 *
 * 1. Saturation (closed loop, BENCH_CONNECTIONS): admission alone | + 100 webhooks/s | + 1,000
 *    webhooks/s | webhooks alone at 1,000/s, rotated, BENCH_ROUNDS × BENCH_SLICE_SECONDS.
 * 2. Fixed rate (open loop, BENCH_OPEN_RATE req/s, default half of 1.'s admission alone): admission
 *    alone | + 100/s | + 1,000/s, rotated: p99 with and without webhooks.
 * 3. Verification by SQL: every delivery answered 200 or 401 has exactly one receipt, by outcome as
 *    the generator counted them, and every fresh delivery id is claimed once.
 * Writes bench/results/webhooks.md. Database: tollgate_bench_webhooks (new each run); Redis keys
 * under bench:webhooks: (deleted before and after; nothing else touched).
 */
import { ChildProcess, spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { Client } from 'pg';
import { Webhook } from 'standardwebhooks';
import { FAKE_FLEXPRICE_KEYS, FAKE_METRONOME_TOKENS } from '@tollgate/testing';
import { Child, freePort, pidCpuSeconds, REPO_ROOT, TS_NODE_ARGS } from './lib/children';
import { LatencySummary, ms } from './lib/latency';
import { BenchRequest, call, closedLoop, LoadResult, mergeResults, openLoop, Workload } from './lib/load';
import { reserveCommitWorkload } from './lib/workloads';
import { machineInfo, redisCpuSeconds, systemCpu } from './lib/machine';
import { DEFAULT_MAIN_JS } from './service/tollgate';

function int(name: string, fallback: number, min = 0): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min) throw new Error(`${name} must be an integer ≥ ${min} (got ${JSON.stringify(raw)})`);
  return Number(raw);
}

const ROUNDS = int('BENCH_ROUNDS', 3, 1);
const SLICE_SECONDS = int('BENCH_SLICE_SECONDS', 5, 1);
const WARMUP_SECONDS = int('BENCH_WARMUP_SECONDS', 3);
const CONNECTIONS = int('BENCH_CONNECTIONS', 64, 1);
/** Open-loop admission rate (requests/s, reserves and commits both count); 0: half of the measured saturation. */
const OPEN_RATE_SETTING = int('BENCH_OPEN_RATE', 0);
const LOW_RATE = int('BENCH_WEBHOOK_LOW_RATE', 100, 1);
const HIGH_RATE = int('BENCH_WEBHOOK_HIGH_RATE', 1_000, 1);
const WEBHOOK_ORGS = int('BENCH_WEBHOOK_ORGS', 20, 1);
/**
 * A delivery unanswered this long after it was written is given up (and the slice ends at most this
 * much after its schedule): a rate the service cannot hold queues up, it must not run into the next slice.
 */
const WEBHOOK_TIMEOUT_MS = int('BENCH_WEBHOOK_TIMEOUT_MS', 3_000, 100);
/** Which parts to run (comma-separated): closed, open. */
const PARTS = new Set((process.env.BENCH_PARTS ?? 'closed,open').split(','));
/**
 * Which slices the saturation rotation runs (comma-separated): alone, low, high, own (the 1,000/s sent
 * to a second instance started with TOLLGATE_ROUTES=webhooks, on the same machine, database and Redis), webhooks.
 */
const MODES = (process.env.BENCH_MODES ?? 'alone,low,high,own,webhooks').split(',') as Mode[];
/** The open-loop rotation: the slices above that admit. */
const OPEN_MODES = MODES.filter((m) => m !== 'webhooks');
/** BENCH_CPU_PROFILE=dir: the service writes a V8 CPU profile there when it stops. */
const PROFILE_DIR = process.env.BENCH_CPU_PROFILE;
const DATABASE = 'tollgate_bench_webhooks';
const DATABASE_URL = `postgresql://postgres@localhost:5432/${DATABASE}`;
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://localhost:6379/0';
const REDIS_PREFIX = 'bench:webhooks:';
const PLATFORM_KEY = 'tollgate-bench-webhooks-platform-key-0000';
const AUTH = { authorization: `Bearer ${PLATFORM_KEY}` };
const usage = { d0: 10, d1: 11 };

const log = (line: string) => process.stderr.write(`${line}\n`);

// ---------------------------------------------------------------------------------------------
// The webhook load generator (its own process).
// ---------------------------------------------------------------------------------------------

type Kind = 'invoice' | 'wallet' | 'metronome' | 'forged' | 'replay';
/** What each kind must be answered: the outcome of a 200, or the status. */
const EXPECTED: Record<Kind, string> = {
  invoice: 'recorded',
  wallet: 'applied',
  metronome: 'recorded',
  forged: '401',
  replay: 'duplicate',
};
/** How far back (in fresh Flexprice deliveries) a replay reaches: long answered at either rate. */
const REPLAY_DISTANCE = 50;

function kindOf(i: number): Kind {
  const r = i % 100;
  if (r < 3) return 'forged';
  if (r < 6) return 'replay';
  if (r < 16) return 'metronome';
  if (r < 56) return 'invoice';
  return 'wallet';
}

function invoiceBody(id: string, customer: string, at: Date): string {
  const start = new Date(at.getTime() - 30 * 86_400_000).toISOString();
  const end = at.toISOString();
  return JSON.stringify({
    event_type: 'invoice.update.finalized',
    invoice: {
      id,
      customer_id: customer,
      invoice_number: `INV-${id.slice(-8)}`,
      invoice_type: 'SUBSCRIPTION',
      invoice_status: 'FINALIZED',
      payment_status: 'PENDING',
      currency: 'usd',
      amount_due: '42.50',
      amount_paid: '0',
      amount_remaining: '42.50',
      subtotal: '42.50',
      total: '42.50',
      period_start: start,
      period_end: end,
      finalized_at: end,
      line_items: [1, 2, 3].map((n) => ({
        id: `${id}_li${n}`,
        price_id: `price_bench_${n}`,
        display_name: `Usage ${n}`,
        quantity: String(1000 * n),
        amount: (n * 7.08).toFixed(2),
        currency: 'usd',
        period_start: start,
        period_end: end,
        metadata: {},
      })),
      metadata: {},
      environment_id: 'env_bench',
      tenant_id: 'tenant_bench',
    },
  });
}

function walletBody(id: string, customer: string): string {
  return JSON.stringify({
    event_type: 'wallet.credit_balance.dropped',
    wallet: {
      id: `wallet_${customer.slice(-12)}`,
      customer_id: customer,
      name: 'Prepaid',
      currency: 'usd',
      balance: '3.20',
      credit_balance: '3.20',
      wallet_status: 'active',
      alert_state: 'in_alarm',
      alert_config: { threshold: { type: 'amount', value: '5.00' } },
      event_id: id,
    },
  });
}

function metronomeBody(id: string, customer: string): string {
  return JSON.stringify({
    id,
    type: 'payment_gate.payment_status',
    properties: { customer_id: customer, contract_id: `contract_${id.slice(-8)}`, invoice_id: `inv_${id}`, payment_status: 'paid' },
  });
}

interface GeneratorReport {
  rate: number;
  seconds: number;
  sent: number;
  /** HTTP status counts (200, 401, ...). */
  status: Record<string, number>;
  /** Outcome of each 200 answer. */
  outcomes: Record<string, number>;
  /** `kind expected → got`, for answers that were not what the kind must be answered. */
  unexpected: Record<string, number>;
  socketErrors: Record<string, number>;
  sentByKind: Record<string, number>;
  latencyUs: LatencySummary;
  dispatchLagP99Us: number;
  fellBehind: boolean;
  /** Answered (any status) per second. */
  answeredRps: number;
  /** Sent but never answered (given up when the run ended, or timed out): the server may or may not have recorded them. */
  unanswered: number;
  /** Scheduled but not sent: the generator gave up its backlog. */
  notSent: number;
}

function add(into: Record<string, number>, from: Record<string, number>): Record<string, number> {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
  return into;
}

async function generator(): Promise<void> {
  const port = Number(process.env.PORT);
  const target = Number(process.env.BENCH_TARGET_PORT);
  const fp = new Webhook(process.env.FLEXPRICE_WEBHOOK_SECRET!);
  const forger = new Webhook(`whsec_${randomBytes(24).toString('base64')}`);
  const mnSecret = process.env.METRONOME_WEBHOOK_SECRET!;
  let customers = { flexprice: [] as string[], metronome: [] as string[] };
  let prepared: { requests: BenchRequest[]; kinds: WeakMap<BenchRequest, Kind>; rate: number; seconds: number; port: number } | undefined;
  const totals = { sent: 0, unanswered: 0, status: {} as Record<string, number>, outcomes: {} as Record<string, number>, socketErrors: {} };

  const svix = (key: Webhook, id: string, at: Date, body: string): BenchRequest => ({
    method: 'POST',
    path: '/v1/webhooks/flexprice',
    headers: { 'svix-id': id, 'svix-timestamp': String(Math.floor(at.getTime() / 1000)), 'svix-signature': key.sign(id, at, body) },
    body,
  });

  /** Signs every delivery of the next run now, so the run itself spends nothing on signing. */
  const prepare = (rate: number, seconds: number, tag: string, port: number) => {
    const n = Math.round(rate * seconds);
    const at = new Date();
    const requests: BenchRequest[] = [];
    const kinds = new WeakMap<BenchRequest, Kind>();
    const freshFlexprice: BenchRequest[] = [];
    for (let i = 0; i < n; i++) {
      let kind = kindOf(i);
      if (kind === 'replay' && freshFlexprice.length < REPLAY_DISTANCE) kind = 'invoice';
      const fc = customers.flexprice[i % customers.flexprice.length];
      const mc = customers.metronome[i % customers.metronome.length];
      const id = `${tag}_${i}`;
      let req: BenchRequest;
      if (kind === 'replay') {
        // A redelivery: the same svix-id and bytes as one sent earlier.
        const original = freshFlexprice[freshFlexprice.length - REPLAY_DISTANCE];
        req = { ...original, headers: { ...original.headers } };
      } else if (kind === 'metronome') {
        const body = metronomeBody(`ntf_${id}`, mc);
        const date = at.toUTCString();
        req = {
          method: 'POST',
          path: '/v1/webhooks/metronome',
          headers: {
            'x-metronome-date': date,
            'metronome-webhook-signature': createHmac('sha256', mnSecret).update(`${date}\n${body}`).digest('hex'),
          },
          body,
        };
      } else if (kind === 'forged') {
        req = svix(forger, `msg_${id}`, at, invoiceBody(`inv_${id}`, fc, at));
      } else {
        req = svix(fp, `msg_${id}`, at, kind === 'invoice' ? invoiceBody(`inv_${id}`, fc, at) : walletBody(`evt_${id}`, fc));
        freshFlexprice.push(req);
      }
      requests.push(req);
      kinds.set(req, kind);
    }
    prepared = { requests, kinds, rate, seconds, port };
    return { prepared: n, bytes: requests.reduce((s, r) => s + String(r.body).length, 0) / Math.max(1, n) };
  };

  const run = async (): Promise<GeneratorReport> => {
    if (!prepared) throw new Error('run before prepare');
    const { requests, kinds, rate, seconds, port: to } = prepared;
    prepared = undefined;
    const outcomes: Record<string, number> = {};
    const unexpected: Record<string, number> = {};
    const sentByKind: Record<string, number> = {};
    for (const r of requests) sentByKind[kinds.get(r)!] = (sentByKind[kinds.get(r)!] ?? 0) + 1;
    const result: LoadResult = await openLoop({
      port: to,
      rate,
      seconds,
      timeoutMs: WEBHOOK_TIMEOUT_MS,
      request: (i) => requests[i % requests.length],
      followUp: (res, req) => {
        const outcome = String((JSON.parse(res.body) as { outcome?: string }).outcome);
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
        const kind = kinds.get(req)!;
        if (EXPECTED[kind] !== outcome)
          unexpected[`${kind} ${EXPECTED[kind]} → ${outcome}`] = (unexpected[`${kind} ${EXPECTED[kind]} → ${outcome}`] ?? 0) + 1;
        return undefined;
      },
    });
    const status: Record<string, number> = { ...result.httpErrors };
    if (result.ok > 0) status['200'] = result.ok;
    const forgedSent = sentByKind.forged ?? 0;
    if ((status['401'] ?? 0) !== forgedSent) unexpected[`401 answers ${status['401'] ?? 0} ≠ forged sent ${forgedSent}`] = 1;
    const answered = Object.values(status).reduce((a, b) => a + b, 0);
    const unanswered = result.sent - answered;
    totals.sent += result.sent;
    totals.unanswered += unanswered;
    add(totals.status, status);
    add(totals.outcomes, outcomes);
    add(totals.socketErrors, result.socketErrors);
    return {
      rate,
      seconds: result.seconds,
      sent: result.sent,
      status,
      outcomes,
      unexpected,
      socketErrors: result.socketErrors,
      sentByKind,
      latencyUs: result.latencyUs,
      dispatchLagP99Us: result.open?.dispatchLagUs.p99 ?? 0,
      fellBehind: result.open?.fellBehind ?? false,
      answeredRps: answered / result.seconds,
      unanswered,
      notSent: (result.open?.scheduled ?? 0) - (result.open?.dispatched ?? 0),
    };
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const input = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, any>) : {};
      const answer = async (): Promise<unknown> => {
        switch (req.url) {
          case '/ready':
            return { ready: true };
          case '/setup':
            customers = input as typeof customers;
            return { ok: true };
          case '/prepare':
            return prepare(Number(input.rate), Number(input.seconds), String(input.tag), Number(input.port) || target);
          case '/run':
            return run();
          case '/totals':
            return totals;
          default:
            throw new Error(`no route ${req.url}`);
        }
      };
      answer().then(
        (body) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body)),
        (error: Error) => res.writeHead(500).end(String(error?.stack ?? error)),
      );
    });
  });
  server.listen(port, '127.0.0.1');
  process.once('SIGTERM', () => process.exit(0));
}

// ---------------------------------------------------------------------------------------------
// The runner (this process: admission load, slices, verification, results).
// ---------------------------------------------------------------------------------------------

async function ensureDatabase(): Promise<void> {
  const client = new Client({ connectionString: 'postgresql://postgres@localhost:5432/postgres' });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${DATABASE}`);
  } finally {
    await client.end();
  }
}

/** Deletes this bench's Redis keys only (other benches may be running against the same Redis). */
async function deleteOwnKeys(redis: Redis): Promise<number> {
  let deleted = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${REDIS_PREFIX}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}

function startFakes(fpPort: number, mnPort: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [...TS_NODE_ARGS, path.join(REPO_ROOT, 'libs/testing/src/fakes/run-fakes.ts')], {
    cwd: REPO_ROOT,
    env: { ...process.env, FAKE_FLEXPRICE_PORT: String(fpPort), FAKE_METRONOME_PORT: String(mnPort) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('fake Metronome listening')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`fakes exited with ${code}`)));
  });
}

const FP_SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const MN_SECRET = `mn-bench-${randomBytes(16).toString('hex')}`;

async function startService(fpPort: number, mnPort: number, routes: 'all' | 'webhooks' = 'all'): Promise<Child> {
  const port = await freePort();
  return Child.start({
    name: routes === 'all' ? 'webhooks-service' : 'webhooks-ingest',
    args: [
      ...(PROFILE_DIR
        ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(PROFILE_DIR)}`, '-r', path.join(__dirname, 'lib', 'exit-on-sigterm.js')]
        : []),
      process.env.BENCH_SERVICE_MAIN || DEFAULT_MAIN_JS,
    ],
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL,
      REDIS_URL,
      REDIS_KEY_PREFIX: REDIS_PREFIX,
      TOLLGATE_PLATFORM_KEY: PLATFORM_KEY,
      RATE_LIMIT_PLATFORM_KEY_PER_SECOND: '1000000',
      FLEXPRICE_BASE_URL: `http://127.0.0.1:${fpPort}/v1`,
      FLEXPRICE_API_KEY: FAKE_FLEXPRICE_KEYS.live,
      METRONOME_BASE_URL: `http://127.0.0.1:${mnPort}`,
      METRONOME_BEARER_TOKEN: FAKE_METRONOME_TOKENS.live,
      BILLING_DISPATCH_ENABLED: 'false',
      WEBHOOK_DISPATCH_ENABLED: 'false',
      FLEXPRICE_WEBHOOK_SECRET: FP_SECRET,
      METRONOME_WEBHOOK_SECRET: MN_SECRET,
      WEBHOOK_INBOUND_RATE: '100000',
      TOLLGATE_ROUTES: routes,
      ...(process.env.WEBHOOK_RECEIPT_BATCH_MS ? { WEBHOOK_RECEIPT_BATCH_MS: process.env.WEBHOOK_RECEIPT_BATCH_MS } : {}),
    },
    port,
    readyPath: '/health/ready',
    readyTimeoutMs: 120_000,
  });
}

async function startGenerator(targetPort: number): Promise<Child> {
  const port = await freePort();
  return Child.start({
    name: 'webhooks-generator',
    args: [...TS_NODE_ARGS, __filename, '--generator'],
    env: {
      ...(process.env as Record<string, string>),
      PORT: String(port),
      BENCH_TARGET_PORT: String(targetPort),
      FLEXPRICE_WEBHOOK_SECRET: FP_SECRET,
      METRONOME_WEBHOOK_SECRET: MN_SECRET,
    },
    port,
    readyPath: '/ready',
    readyTimeoutMs: 60_000,
  });
}

const workload = (runId: string, org: string): Workload => reserveCommitWorkload(runId, org, 'bench.webhooks', usage, AUTH);

/** System (kernel) CPU seconds of a process so far: syscalls, here mostly socket writes and reads. */
function pidSystemSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[12]) / 100;
  } catch {
    return 0;
  }
}

interface CpuReading {
  client: number;
  /** The TOLLGATE_ROUTES=webhooks instance (0 when not started). */
  ingest: number;
  serviceSystem: number;
  generator: number;
  service: number;
  redis: number;
  fakes: number;
  /** Machine-wide busy ticks (1/100 s, all cores) and steal. */
  busy: number;
  steal: number;
}

type Mode = 'alone' | 'low' | 'high' | 'own' | 'webhooks';
const RATE_OF: Record<Mode, number> = { alone: 0, low: LOW_RATE, high: HIGH_RATE, own: HIGH_RATE, webhooks: HIGH_RATE };
const LABEL: Record<Mode, string> = {
  alone: 'admission alone',
  low: `admission + ${LOW_RATE.toLocaleString('en')} webhooks/s`,
  high: `admission + ${HIGH_RATE.toLocaleString('en')} webhooks/s`,
  own: `admission + ${HIGH_RATE.toLocaleString('en')} webhooks/s to a webhooks instance`,
  webhooks: `webhooks alone at ${HIGH_RATE.toLocaleString('en')}/s`,
};

interface Slice {
  mode: Mode;
  admission?: LoadResult;
  webhooks?: GeneratorReport;
  cpu: CpuReading;
  /** CPU seconds of this database's Postgres backends. */
  postgres: number;
  seconds: number;
}

async function main(): Promise<void> {
  const started = Date.now();
  await ensureDatabase();
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  const machine = await machineInfo(redis);
  await deleteOwnKeys(redis);
  const [fpPort, mnPort] = [await freePort(), await freePort()];
  const fakes = await startFakes(fpPort, mnPort);
  let service: Child | undefined;
  let ingest: Child | undefined;
  let gen: Child | undefined;
  const pg = new Client({ connectionString: DATABASE_URL });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const out: string[] = [];
  let failed = false;
  try {
    service = await startService(fpPort, mnPort);
    if (MODES.includes('own')) ingest = await startService(fpPort, mnPort, 'webhooks');
    gen = await startGenerator(service.port);
    await pg.connect();
    const svc = service;
    const ingestChild = ingest;
    const generatorChild = gen;
    const api = async (method: BenchRequest['method'], p: string, body?: unknown) => {
      const res = await call(
        svc.port,
        { method, path: p, headers: { ...AUTH, 'idempotency-key': randomBytes(8).toString('hex') }, body },
        agent,
      );
      if (res.status >= 300) throw new Error(`${method} ${p} answered ${res.status}: ${res.text.slice(0, 300)}`);
      return res.json as Record<string, any>;
    };
    const genCall = async <T>(p: string, body?: unknown): Promise<T> => {
      const res = await call(generatorChild.port, { method: 'POST', path: p, body: body ?? {} }, agent, SLICE_SECONDS * 1000 + 60_000);
      if (res.status !== 200) throw new Error(`generator ${p}: ${res.status} ${res.text.slice(0, 500)}`);
      return res.json as T;
    };

    // Setup: a rate card, the admission organization (no billing route) and the webhook organizations.
    const card = await api('POST', '/v1/rate-cards', {
      name: 'bench webhooks',
      rates: ['d0', 'd1'].map((dimension) => ({ product: 'bench.webhooks', dimension, model: 'flat', unit_price: '0.001' })),
    });
    const newOrg = async (prefix: string, route: Record<string, unknown>) => {
      const id = `${prefix}-${randomBytes(4).toString('hex')}`;
      await api('POST', '/v1/orgs', { id, name: id, rate_card_id: card.id, overage_policy: 'allow' });
      await api('POST', `/v1/orgs/${id}/credits`, { amount: 1_000_000_000_000_000, reason: 'bench' });
      const routed = await api('PUT', `/v1/orgs/${id}/billing`, route);
      return { id, customers: (routed.customer_ids ?? {}) as Record<string, string> };
    };
    const admissionOrg = (await newOrg('bw-adm', { backend: 'none' })).id;
    const customers = { flexprice: [] as string[], metronome: [] as string[] };
    for (let i = 0; i < WEBHOOK_ORGS; i++) {
      const o = await newOrg('bw-wh', { backend: 'flexprice', shadow: 'metronome' });
      if (!o.customers.flexprice || !o.customers.metronome) throw new Error(`PUT billing gave no customer ids: ${JSON.stringify(o)}`);
      customers.flexprice.push(o.customers.flexprice);
      customers.metronome.push(o.customers.metronome);
    }
    await genCall('/setup', customers);

    const pgBackends = async (): Promise<Map<number, number>> => {
      const { rows } = await pg.query<{ pid: number }>(`select pid from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()`, [
        DATABASE,
      ]);
      return new Map(rows.map((r) => [r.pid, pidCpuSeconds(r.pid)]));
    };
    const cpu = async (): Promise<CpuReading> => {
      const self = process.cpuUsage();
      const sys = systemCpu();
      return {
        client: (self.user + self.system) / 1e6,
        generator: generatorChild.cpuSeconds(),
        service: svc.cpuSeconds(),
        ingest: ingestChild?.cpuSeconds() ?? 0,
        serviceSystem: pidSystemSeconds(svc.pid),
        redis: await redisCpuSeconds(redis),
        fakes: pidCpuSeconds(fakes.pid ?? 0),
        busy: sys.busy / 100,
        steal: sys.steal / 100,
      };
    };
    const minus = (x: CpuReading, y: CpuReading): CpuReading =>
      Object.fromEntries(Object.keys(x).map((k) => [k, x[k as keyof CpuReading] - y[k as keyof CpuReading]])) as unknown as CpuReading;

    let bodyBytes = 0;
    const slice = async (mode: Mode, admission: 'closed' | 'open' | 'none', openRate: number, tag: string, seconds = SLICE_SECONDS) => {
      const rate = RATE_OF[mode];
      const port = mode === 'own' ? ingestChild!.port : svc.port;
      if (rate > 0) bodyBytes = (await genCall<{ bytes: number }>('/prepare', { rate, seconds, tag, port })).bytes;
      const pgBefore = await pgBackends();
      const before = await cpu();
      const t0 = Date.now();
      const load = workload(`${tag}-${randomBytes(3).toString('hex')}`, admissionOrg);
      const [adm, wh] = await Promise.all([
        admission === 'closed'
          ? closedLoop({ port: svc.port, connections: CONNECTIONS, seconds, ...load })
          : admission === 'open'
            ? openLoop({ port: svc.port, rate: openRate, seconds, ...load })
            : undefined,
        rate > 0 ? genCall<GeneratorReport>('/run') : undefined,
      ]);
      const elapsed = (Date.now() - t0) / 1000;
      const used = minus(await cpu(), before);
      const pgAfter = await pgBackends();
      let postgres = 0;
      for (const [pid, s] of pgAfter) postgres += s - (pgBefore.get(pid) ?? 0);
      return { mode, admission: adm, webhooks: wh, cpu: used, postgres, seconds: elapsed } satisfies Slice;
    };

    // Warm-up: both paths' code hot, pools open, caches filled; discarded.
    if (WARMUP_SECONDS > 0) {
      log(`warm-up ${WARMUP_SECONDS} s`);
      await slice('high', 'closed', 0, `warm-${randomBytes(3).toString('hex')}`, WARMUP_SECONDS);
    }

    const rotation = async (modes: Mode[], admission: 'closed' | 'open', openRate: number) => {
      const slices: Slice[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        for (let m = 0; m < modes.length; m++) {
          const mode = modes[(m + r) % modes.length];
          const s = await slice(
            mode,
            mode === 'webhooks' ? 'none' : admission,
            openRate,
            `${admission}-${mode}-${r}-${randomBytes(3).toString('hex')}`,
          );
          log(
            `${admission} round ${r + 1} ${LABEL[mode]}: ${s.admission ? `admission ${Math.round(s.admission.rps)} req/s p99 ${ms(s.admission.latencyUs.p99)} ms` : ''}${
              s.webhooks
                ? ` webhooks ${Math.round(s.webhooks.answeredRps)}/s p99 ${ms(s.webhooks.latencyUs.p99)} ms ${JSON.stringify(s.webhooks.status)}`
                : ''
            }`,
          );
          slices.push(s);
        }
      }
      return slices;
    };

    const closed = PARTS.has('closed') ? await rotation(MODES, 'closed', 0) : [];
    const of = (slices: Slice[], mode: Mode) => slices.filter((s) => s.mode === mode);
    const admissionOf = (slices: Slice[], mode: Mode) => mergeResults(of(slices, mode).map((s) => s.admission!));
    const saturation = of(closed, 'alone').length ? admissionOf(closed, 'alone').rps : 800;
    const openRate = OPEN_RATE_SETTING || Math.max(50, Math.round(saturation / 2 / 50) * 50);
    const open = PARTS.has('open') ? await rotation(OPEN_MODES, 'open', openRate) : [];

    // Verification: the receipts against what the generator was answered (warm-up included).
    const totals = await genCall<{
      sent: number;
      unanswered: number;
      status: Record<string, number>;
      outcomes: Record<string, number>;
      socketErrors: Record<string, number>;
    }>('/totals');
    const byOutcome = Object.fromEntries(
      (await pg.query<{ outcome: string; n: string }>(`select outcome, count(*) as n from webhook_receipts group by outcome`)).rows.map(
        (r) => [r.outcome, Number(r.n)],
      ),
    ) as Record<string, number>;
    const {
      rows: [claims],
    } = await pg.query<{ claimed: string; twice: string }>(
      `select count(*) as claimed, count(*) filter (where n > 1) as twice from (
         select source, delivery_id, count(*) as n from webhook_receipts
         where delivery_id is not null and outcome not in ('refused', 'duplicate', 'failed') group by 1, 2) c`,
    );
    const expectedReceipts: Record<string, number> = { ...totals.outcomes };
    if (totals.status['401']) expectedReceipts.refused = totals.status['401'];
    const outcomes = [...new Set([...Object.keys(byOutcome), ...Object.keys(expectedReceipts)])].sort();
    const excess = (o: string) => (byOutcome[o] ?? 0) - (expectedReceipts[o] ?? 0);
    const lost = outcomes.filter((o) => excess(o) < 0);
    const extra = outcomes.reduce((n, o) => n + Math.max(0, excess(o)), 0);
    const freshAnswered = (totals.outcomes.recorded ?? 0) + (totals.outcomes.applied ?? 0);
    const otherStatuses = Object.keys(totals.status).filter((s) => s !== '200' && s !== '401');
    // Deliveries whose receipt the generator cannot predict: no answer (timed out, or given up when a
    // slice ended), or an answer other than 200/401. Each may have one receipt, or none.
    const unknowable = totals.unanswered + otherStatuses.reduce((n, s) => n + totals.status[s], 0);
    const claimedExtra = Number(claims.claimed) - freshAnswered;
    const problems = [
      ...lost.map((o) => `RECEIPTS LOST: outcome ${o}: ${byOutcome[o] ?? 0} receipts, ${expectedReceipts[o] ?? 0} deliveries answered so`),
      ...(extra > unknowable ? [`${extra} receipts more than answered, but only ${unknowable} deliveries without a 200/401 answer`] : []),
      ...(Number(claims.twice) > 0 ? [`${claims.twice} delivery ids claimed more than once`] : []),
      ...(claimedExtra < 0 || claimedExtra > unknowable
        ? [`${claims.claimed} delivery ids claimed, ${freshAnswered} fresh deliveries answered recorded/applied (${unknowable} unknowable)`]
        : []),
    ];
    failed = problems.length > 0;
    const verification = [
      `Deliveries sent by the generator (warm-up included): ${totals.sent.toLocaleString('en')}; answered ${Object.entries(totals.status)
        .map(([s, n]) => `${s}: ${n.toLocaleString('en')}`)
        .join(', ')}; no answer: ${totals.unanswered.toLocaleString('en')}${
        Object.keys(totals.socketErrors).length
          ? ` (${Object.entries(totals.socketErrors)
              .map(([e, n]) => `${e}: ${n}`)
              .join(', ')}; the rest given up unanswered when their slice ended)`
          : totals.unanswered
            ? ' (given up unanswered when their slice ended)'
            : ''
      }.`,
      '',
      '| outcome | receipts in webhook_receipts | deliveries answered so | |',
      '|---|---|---|---|',
      ...outcomes.map(
        (o) =>
          `| ${o} | ${byOutcome[o] ?? 0} | ${expectedReceipts[o] ?? 0} | ${excess(o) < 0 ? '**LOST**' : excess(o) > 0 ? `+${excess(o)} from deliveries without a 200/401 answer` : 'equal'} |`,
      ),
      '',
      `Delivery ids claimed: ${Number(claims.claimed).toLocaleString('en')} (each exactly once: ${Number(claims.twice) === 0 ? 'yes' : `**NO, ${claims.twice} twice**`}), fresh deliveries answered recorded/applied: ${freshAnswered.toLocaleString('en')}.`,
      '',
      failed
        ? `**VERIFICATION FAILED — this bench's figures are not to be trusted: ${problems.join('; ')}.**`
        : unknowable === 0
          ? '**Verified:** every delivery answered 200 has exactly one receipt with the outcome it was answered, every 401 one `refused` receipt, every fresh delivery id is claimed once, and every delivery was answered.'
          : `**Verified, within what can be known:** no receipt of a delivery answered 200 or 401 is missing (receipts ≥ answers for every outcome), every fresh delivery id is claimed once; ${extra} receipts (${claimedExtra} claims) belong to the ${unknowable.toLocaleString('en')} deliveries that got no 200/401 answer (the server recorded them after the generator gave up, or they were never sent).`,
    ];
    if (failed) log(`\n!!! VERIFICATION FAILED: ${problems.join('; ')}\n`);

    // Tables.
    const sat = (mode: Mode) => admissionOf(closed, mode);
    const perRound = (slices: Slice[], mode: Mode, f: (s: Slice) => number) => {
      const base = of(slices, 'alone');
      return of(slices, mode).map((s, r) => f(s) / f(base[r]));
    };
    const range = (xs: number[]) => (xs.length ? `${Math.min(...xs).toFixed(3)}–${Math.max(...xs).toFixed(3)}` : '');
    const webhookSummary = (slices: Slice[], mode: Mode) => {
      const parts = of(slices, mode)
        .map((s) => s.webhooks)
        .filter((w): w is GeneratorReport => w !== undefined);
      if (parts.length === 0) return { rps: 0, text: '—', lat: '—', p99: 0, deliveries: 0, behind: false };
      const seconds = parts.reduce((n, p) => n + p.seconds, 0);
      const status = parts.reduce((m, p) => add(m, p.status), {} as Record<string, number>);
      const deliveries = Object.values(status).reduce((a, b) => a + b, 0);
      const p99 = Math.max(...parts.map((p) => p.latencyUs.p99));
      const p50s = parts.map((p) => p.latencyUs.p50).sort((a, b) => a - b);
      return {
        rps: deliveries / seconds,
        deliveries,
        p99,
        behind: parts.some((p) => p.fellBehind),
        text: `${Math.round(deliveries / seconds)}/s of ${RATE_OF[mode]} (${Object.entries(status)
          .map(([s, n]) => `${s}: ${n}`)
          .join(', ')}${parts.reduce((n, p) => n + p.unanswered, 0) ? `, no answer: ${parts.reduce((n, p) => n + p.unanswered, 0)}` : ''}${
          parts.reduce((n, p) => n + p.notSent, 0) ? `, not sent: ${parts.reduce((n, p) => n + p.notSent, 0)}` : ''
        })${parts.some((p) => p.fellBehind) ? ' (generator fell behind)' : ''}`,
        lat: `${ms(p50s[Math.floor(p50s.length / 2)])} / ${ms(p99)} ms`,
      };
    };
    const sumCpu = (slices: Slice[]) =>
      slices.reduce(
        (acc, s) => ({
          service: acc.service + s.cpu.service,
          ingest: acc.ingest + s.cpu.ingest,
          serviceSystem: acc.serviceSystem + s.cpu.serviceSystem,
          postgres: acc.postgres + s.postgres,
          redis: acc.redis + s.cpu.redis,
          client: acc.client + s.cpu.client,
          generator: acc.generator + s.cpu.generator,
          busy: acc.busy + s.cpu.busy,
          steal: acc.steal + s.cpu.steal,
          seconds: acc.seconds + s.seconds,
          admitted: acc.admitted + (s.admission?.ok ?? 0),
          deliveries: acc.deliveries + (s.webhooks ? Object.values(s.webhooks.status).reduce((a, b) => a + b, 0) : 0),
        }),
        {
          service: 0,
          ingest: 0,
          serviceSystem: 0,
          postgres: 0,
          redis: 0,
          client: 0,
          generator: 0,
          busy: 0,
          steal: 0,
          seconds: 0,
          admitted: 0,
          deliveries: 0,
        },
      );
    const pct = (s: number, seconds: number) => `${Math.round((s / seconds) * 100)} %`;
    const us = (s: number, n: number) => (n > 0 ? `${Math.round((s * 1e6) / n)} µs` : '—');

    const cpuRows = (slices: Slice[], modes: Mode[]) => {
      const base = sumCpu(of(slices, 'alone'));
      const svcPerAdmit = base.admitted > 0 ? base.service / base.admitted : 0;
      const pgPerAdmit = base.admitted > 0 ? base.postgres / base.admitted : 0;
      return modes.map((m) => {
        const c = sumCpu(of(slices, m));
        // What the webhooks added: the slice's CPU less its admissions at the baseline's cost per admission.
        const svcWebhooks = c.service - c.admitted * svcPerAdmit + c.ingest;
        const pgWebhooks = c.postgres - c.admitted * pgPerAdmit;
        return `| ${LABEL[m]} | ${pct(c.service, c.seconds)} (kernel ${pct(c.serviceSystem, c.seconds)}) | ${c.ingest > 0 ? pct(c.ingest, c.seconds) : '—'} | ${pct(c.postgres, c.seconds)} | ${pct(c.redis, c.seconds)} | ${pct(c.client, c.seconds)} | ${pct(c.generator, c.seconds)} | ${pct(c.busy, c.seconds)} of ${os.cpus().length * 100} % (steal ${pct(c.steal, c.seconds)}) | ${us(c.service, c.admitted)} | ${m === 'alone' ? '—' : `${us(svcWebhooks, c.deliveries)} service, ${us(pgWebhooks, c.deliveries)} Postgres, ${us(c.generator, c.deliveries)} generator`} |`;
      });
    };
    const cpuHeader = [
      '| slice | service | webhooks instance | Postgres (this database) | Redis (shared) | admission client | webhook generator | machine busy | service µs / admission request | CPU per delivery (service: both instances, beyond the admissions at the baseline cost) |',
      '|---|---|---|---|---|---|---|---|---|---|',
    ];

    if (of(closed, 'alone').length) {
      const base = sat('alone');
      out.push(
        `## 1. Admission saturation (closed loop, ${CONNECTIONS} connections, reserve + commit), ${ROUNDS} rounds × ${SLICE_SECONDS} s per slice, rotated`,
        '',
        '| slice | admission req/s | **vs alone (same run)** | per-round ratios | admission p50 / p99 | webhooks answered (offered) | webhook p50 / p99 |',
        '|---|---|---|---|---|---|---|',
        ...MODES.map((m) => {
          const w = webhookSummary(closed, m);
          if (m === 'webhooks') return `| ${LABEL[m]} | — | — | — | — | ${w.text} | ${w.lat} |`;
          const r = sat(m);
          return `| ${LABEL[m]} | ${Math.round(r.rps)} | **${(r.rps / base.rps).toFixed(3)}** | ${m === 'alone' ? '—' : range(perRound(closed, m, (s) => s.admission!.rps))} | ${ms(r.latencyUs.p50)} / ${ms(r.latencyUs.p99)} ms | ${w.text} | ${w.lat} |`;
        }),
        '',
        'CPU, % of one core over the slices (user + system):',
        '',
        ...cpuHeader,
        ...cpuRows(closed, MODES),
        '',
      );
    }
    if (open.length) {
      const base = admissionOf(open, 'alone');
      out.push(
        `## 2. Admission at a fixed rate (open loop, ${openRate} req/s offered${OPEN_RATE_SETTING ? '' : ' = half the saturation above'}), ${ROUNDS} rounds × ${SLICE_SECONDS} s, rotated`,
        '',
        '| slice | admission answered/s | p50 | p99 | **p99 vs alone** | per-round p99 ratios | p99.9 | webhooks answered (offered) | webhook p50 / p99 |',
        '|---|---|---|---|---|---|---|---|---|',
        ...OPEN_MODES.map((m) => {
          const r = admissionOf(open, m);
          const w = webhookSummary(open, m);
          const errors = Object.entries({ ...r.httpErrors, ...r.socketErrors }).map(([k, n]) => `${k}: ${n}`);
          return `| ${LABEL[m]} | ${Math.round(r.rps)}${errors.length ? ` (errors ${errors.join(', ')})` : ''}${r.open?.fellBehind ? ' (client fell behind)' : ''} | ${ms(r.latencyUs.p50)} ms | ${ms(r.latencyUs.p99)} ms | **${(r.latencyUs.p99 / base.latencyUs.p99).toFixed(2)}** | ${m === 'alone' ? '—' : range(perRound(open, m, (s) => s.admission!.latencyUs.p99))} | ${ms(r.latencyUs.p999)} ms | ${w.text} | ${w.lat} |`;
        }),
        '',
        ...cpuHeader,
        ...cpuRows(open, OPEN_MODES),
        '',
      );
    }

    // Verdicts.
    const verdicts: string[] = [];
    if ((['alone', 'low', 'high', 'webhooks'] as Mode[]).every((m) => of(closed, m).length)) {
      const base = sat('alone').rps;
      const lo = sat('low').rps / base;
      const alone = sumCpu(of(closed, 'webhooks'));
      const svcUs = (alone.service * 1e6) / Math.max(1, alone.deliveries);
      const pgUs = (alone.postgres * 1e6) / Math.max(1, alone.deliveries);
      const w = webhookSummary(closed, 'webhooks');
      verdicts.push(
        `- Issue 16 item 5 (admission saturation with ${LOW_RATE} deliveries/s ≥ 90 % of admission alone): **${lo >= 0.9 ? 'met' : 'NOT met'}**, ${(lo * 100).toFixed(1)} % (per round ${range(perRound(closed, 'low', (s) => s.admission!.rps))}).`,
        ...(['high', 'own'] as Mode[])
          .filter((m) => of(closed, m).length)
          .map((m) => {
            const ratio = sat(m).rps / base;
            const openRatio =
              open.length && of(open, m).length ? admissionOf(open, m).latencyUs.p99 / admissionOf(open, 'alone').latencyUs.p99 : null;
            const rpsRatio = open.length && of(open, m).length ? admissionOf(open, m).rps / admissionOf(open, 'alone').rps : null;
            return `- Issue 13 item 5 (${HIGH_RATE.toLocaleString('en')} deliveries/s verified and recorded, admission slowed ≤ 5 %), webhooks ${m === 'own' ? 'on their own instance (TOLLGATE_ROUTES=webhooks, same machine)' : 'on the admission instance'}: the deliveries ${w.rps >= HIGH_RATE * 0.98 && !w.behind ? 'were' : '**were NOT**'} answered at rate (${Math.round(w.rps)}/s alone, p99 ${ms(w.p99)} ms; ${Math.round(webhookSummary(closed, m).rps)}/s next to saturated admission); admission saturation with them is ${(ratio * 100).toFixed(1)} % of alone: **${ratio >= 0.95 ? 'met' : 'NOT met'}** at saturation${
              openRatio !== null && rpsRatio !== null
                ? `; at a fixed ${openRate} req/s admission answered ${(rpsRatio * 100).toFixed(1)} % of alone's rate with a p99 ${openRatio.toFixed(2)}× alone's (${ms(admissionOf(open, 'alone').latencyUs.p99)} → ${ms(admissionOf(open, m).latencyUs.p99)} ms): ${openRatio <= 1.05 ? '**within**' : '**outside**'} 5 %`
                : ''
            }.`;
          }),
        `- One delivery costs ${Math.round(svcUs)} µs of service CPU and ${Math.round(pgUs)} µs of Postgres backend CPU (webhooks alone at ${HIGH_RATE}/s): ${HIGH_RATE.toLocaleString('en')}/s is ${((HIGH_RATE * (svcUs + pgUs)) / 1e4).toFixed(0)} % of a core taken from ${os.cpus().length} cores that admission at saturation already fills, against ${us(sumCpu(of(closed, 'alone')).service, sumCpu(of(closed, 'alone')).admitted)} of service CPU per admission request. At saturation a ratio can only stay ≥ 0.95 if the deliveries cost under ~5 % of what admission uses; see the notes for where a delivery's CPU goes.`,
      );
    }

    const minutes = ((Date.now() - started) / 60_000).toFixed(1);
    const doc = [
      `# bench:webhooks — ${machine.date}`,
      '',
      `${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB · ${machine.kernel} · Node ${machine.node} · Redis ${machine.redis} · commit ${machine.commit} · load average before ${machine.loadBefore.join(' ')} · ${minutes} min`,
      '',
      `One service instance from dist/${MODES.includes('own') ? ' and, for the slices that say so, a second with TOLLGATE_ROUTES=webhooks (same settings, database and Redis)' : ''} (Postgres + Redis, BILLING_DISPATCH_ENABLED=false, WEBHOOK_DISPATCH_ENABLED=false, FLEXPRICE_WEBHOOK_SECRET (Svix) and METRONOME_WEBHOOK_SECRET set, WEBHOOK_INBOUND_RATE=100000), fresh database ${DATABASE}, the fakes, the webhook generator in its own process (every delivery signed before its slice; open loop; unique ids; Svix timestamps of the slice's start), and the admission client (this process). Delivery mix per 100: 40 Flexprice invoice.update.finalized (recorded), 44 wallet.credit_balance.dropped (applied: alert), 10 Metronome payment_gate.payment_status paid for an active org (recorded), 3 forged (401 refused), 3 replays of an earlier svix-id (duplicate), across ${WEBHOOK_ORGS} organizations routed flexprice + shadow metronome; mean body ${Math.round(bodyBytes)} bytes. Admission: reserve + commit on an organization with no billing route (2 dimensions, flat rate card). The machine is shared with other work: read the ratios, not the absolute figures.`,
      '',
      ...out,
      '## Verdict',
      '',
      ...verdicts,
      '',
      '## Receipts verification (SQL after the run)',
      '',
      ...verification,
      '',
    ].join('\n');
    const dir = path.join(REPO_ROOT, 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'webhooks.md'), doc);
    console.log(doc);
  } finally {
    agent.destroy();
    await pg.end().catch(() => undefined);
    await Promise.all([service?.stop(), ingest?.stop(), gen?.stop()]);
    fakes.kill('SIGTERM');
    await deleteOwnKeys(redis);
    redis.disconnect();
  }
  if (failed) throw new Error('receipts verification failed (see bench/results/webhooks.md)');
}

if (process.argv.includes('--generator')) {
  generator().catch((error) => {
    console.error(error);
    process.exit(1);
  });
} else {
  main().then(
    () => process.exit(0),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
