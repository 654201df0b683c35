/**
 * `npm run bench:billing` (issue 12, item 8): the outbox dispatcher against fake vendors that
 * answer at once. Every part runs in its own process on this machine's cores, as in
 * production: the fakes (`npm run fakes`), two service instances from dist/ on one Postgres
 * and Redis, and the load client (this process).
 *   A: admission only (BILLING_DISPATCH_ENABLED=false);
 *   B: the default deployment, admission and the dispatcher in one process.
 * "Dispatcher stopped" is B held with SIGSTOP (no CPU, no query), so a slice pays for nothing
 * but admission.
 * 1. Delivery throughput: BENCH_EVENTS usage events written by real commits with B stopped,
 *    then delivered by B (flexprice alone, then flexprice + shadow metronome): events/s from
 *    start to an empty outbox, and the CPU per delivery of B, Postgres and the fakes.
 * 2. Admission with and without dispatch, in rotating slices (reserve + commit, closed loop,
 *    64 connections): A with the dispatcher stopped (baseline); A while B dispatches (dispatch
 *    on its own instance); B itself (dispatch in the admission process). Each slice starts from
 *    an empty outbox; the ratios are of throughputs measured in the same run.
 * 3. Outbox lag with an open loop of BENCH_COMMIT_RATE commits/s offered to B, sampled every
 *    100 ms (seconds since the oldest undelivered event): p50 / p99 / max.
 * Writes bench/results/billing.md. Database: tollgate_bench_billing; Redis keys under bench:billing:.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { Client } from 'pg';
import { FAKE_FLEXPRICE_KEYS, FAKE_METRONOME_TOKENS } from '@tollgate/testing';
import { Child, commandCpuSeconds, freePort, pidCpuSeconds, REPO_ROOT, TS_NODE_ARGS } from './lib/children';
import { BenchRequest, call, closedLoop, LoadResult, mergeResults, openLoop, Workload } from './lib/load';
import { reserveCommitWorkload } from './lib/workloads';
import { deleteBenchKeys, machineInfo, redisCpuSeconds } from './lib/machine';
import { DEFAULT_MAIN_JS } from './service/tollgate';

/** Events per commit (a chat: input and output tokens). */
const DIMENSIONS = Number(process.env.BENCH_DIMENSIONS ?? 2);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 50_000);
const SLICES = Number(process.env.BENCH_SLICES ?? 4);
const SLICE_SECONDS = Number(process.env.BENCH_SLICE_SECONDS ?? 4);
const COMMIT_RATE = Number(process.env.BENCH_COMMIT_RATE ?? 1_000);
const LAG_SECONDS = Number(process.env.BENCH_LAG_SECONDS ?? 10);
/** Which parts to run (comma-separated): deliver, admission, lag. */
const PARTS = new Set((process.env.BENCH_PARTS ?? 'deliver,admission,lag').split(','));
const INTERVAL_MS = process.env.BENCH_DISPATCH_INTERVAL_MS ?? '250';
const DATABASE = 'tollgate_bench_billing';
const DATABASE_URL = `postgresql://postgres@localhost:5432/${DATABASE}`;
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://localhost:6379/0';
const PLATFORM_KEY = 'tollgate-bench-billing-platform-key-000000';
const AUTH = { authorization: `Bearer ${PLATFORM_KEY}` };
const usage = Object.fromEntries(Array.from({ length: DIMENSIONS }, (_, i) => [`d${i}`, 10 + i]));

const log = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function ensureDatabase(): Promise<void> {
  const client = new Client({ connectionString: 'postgresql://postgres@localhost:5432/postgres' });
  await client.connect();
  try {
    // A new database each run: figures from the same starting point, not from earlier runs' outbox.
    await client.query(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${DATABASE}`);
  } finally {
    await client.end();
  }
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

/** BENCH_CPU_PROFILE=dir: instance B (the dispatcher) writes a V8 CPU profile there when it stops. */
const PROFILE_DIR = process.env.BENCH_CPU_PROFILE;

async function startService(name: string, dispatch: boolean, fpPort: number, mnPort: number): Promise<Child> {
  const port = await freePort();
  return Child.start({
    name,
    args: [
      ...(dispatch && PROFILE_DIR
        ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(PROFILE_DIR)}`, '-r', path.join(__dirname, 'lib', 'exit-on-sigterm.js')]
        : []),
      DEFAULT_MAIN_JS,
    ],
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL,
      REDIS_URL,
      REDIS_KEY_PREFIX: 'bench:billing:',
      TOLLGATE_PLATFORM_KEY: PLATFORM_KEY,
      RATE_LIMIT_PLATFORM_KEY_PER_SECOND: '1000000',
      FLEXPRICE_BASE_URL: `http://127.0.0.1:${fpPort}/v1`,
      FLEXPRICE_API_KEY: FAKE_FLEXPRICE_KEYS.live,
      METRONOME_BASE_URL: `http://127.0.0.1:${mnPort}`,
      METRONOME_BEARER_TOKEN: FAKE_METRONOME_TOKENS.live,
      BILLING_DISPATCH_ENABLED: String(dispatch),
      BILLING_DISPATCH_INTERVAL_MS: INTERVAL_MS,
    },
    port,
    readyPath: '/health/ready',
    readyTimeoutMs: 120_000,
  });
}

const workload = (runId: string, org: string): Workload => reserveCommitWorkload(runId, org, 'bench.billing', usage, AUTH);

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** CPU seconds of each part of the system; the difference of two readings is what a run cost. */
interface CpuReading {
  client: number;
  admission: number;
  dispatcher: number;
  postgres: number;
  redis: number;
  fakes: number;
}

async function main(): Promise<void> {
  await ensureDatabase();
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  const machine = await machineInfo(redis);
  await deleteBenchKeys(redis);
  const [fpPort, mnPort] = [await freePort(), await freePort()];
  const fakes = await startFakes(fpPort, mnPort);
  const a = await startService('billing-admission', false, fpPort, mnPort);
  const b = await startService('billing-dispatch', true, fpPort, mnPort);
  const pg = new Client({ connectionString: DATABASE_URL });
  await pg.connect();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const api = async (method: BenchRequest['method'], p: string, body?: unknown) => {
    const res = await call(
      a.port,
      { method, path: p, headers: { ...AUTH, 'idempotency-key': randomBytes(8).toString('hex') }, body },
      agent,
    );
    if (res.status >= 300) throw new Error(`${method} ${p} answered ${res.status}: ${res.text.slice(0, 300)}`);
    return res.json as Record<string, any>;
  };
  const cpu = async (): Promise<CpuReading> => {
    const self = process.cpuUsage();
    return {
      client: (self.user + self.system) / 1e6,
      admission: a.cpuSeconds(),
      dispatcher: b.cpuSeconds(),
      postgres: commandCpuSeconds('postgres'),
      redis: await redisCpuSeconds(redis),
      fakes: pidCpuSeconds(fakes.pid ?? 0),
    };
  };
  const combine = (x: CpuReading, y: CpuReading, sign: 1 | -1): CpuReading =>
    Object.fromEntries(Object.keys(x).map((k) => [k, x[k as keyof CpuReading] + sign * y[k as keyof CpuReading]])) as unknown as CpuReading;
  const minus = (x: CpuReading, y: CpuReading) => combine(x, y, -1);
  const lines: string[] = [];
  const notes: string[] = [];
  try {
    const card = await api('POST', '/v1/rate-cards', {
      name: 'bench billing',
      rates: Array.from({ length: DIMENSIONS }, (_, i) => ({
        product: 'bench.billing',
        dimension: `d${i}`,
        model: 'flat',
        unit_price: '0.001',
      })),
    });
    const newOrg = async (route: Record<string, unknown>) => {
      const id = `bb-${randomBytes(4).toString('hex')}`;
      await api('POST', '/v1/orgs', { id, name: id, rate_card_id: card.id, overage_policy: 'allow' });
      await api('POST', `/v1/orgs/${id}/credits`, { amount: 1_000_000_000_000_000, reason: 'bench' });
      await api('PUT', `/v1/orgs/${id}/billing`, route);
      return id;
    };
    // Anything left to route or deliver ('default' rows waiting to be routed are 'pending' too): one
    // probe of the dispatch index, cheap enough to poll without loading Postgres.
    const undelivered = async () =>
      (await pg.query<{ any: boolean }>(`select exists (select 1 from usage_outbox where status in ('pending', 'failed')) as any`)).rows[0]
        .any;
    const drain = async () => {
      b.resume();
      while (await undelivered()) await sleep(100);
    };
    const commits = async (port: number, org: string, count: number) => {
      let done = 0;
      const runId = randomBytes(4).toString('hex');
      while (done < count) {
        const r = await closedLoop({ port, connections: 32, seconds: 2, ...workload(`${runId}-${done}`, org) });
        done += Math.floor(r.ok / 2);
      }
    };
    const perEvent = (seconds: number, n: number) => `${Math.round((seconds * 1e6) / n)} µs`;

    // 1. Delivery throughput.
    for (const route of PARTS.has('deliver') ? [{ backend: 'flexprice' }, { backend: 'flexprice', shadow: 'metronome' }] : []) {
      const org = await newOrg(route);
      await drain();
      b.pause();
      log(`writing ~${EVENTS} events for ${JSON.stringify(route)}`);
      await commits(a.port, org, Math.ceil(EVENTS / DIMENSIONS));
      const {
        rows: [{ n }],
      } = await pg.query<{ n: string }>(`select count(*) as n from usage_events where org_id = $1`, [org]);
      const events = Number(n);
      const deliveries = events * (route.shadow ? 2 : 1);
      const before = await cpu();
      const started = Date.now();
      await drain();
      const seconds = (Date.now() - started) / 1000;
      const used = minus(await cpu(), before);
      const name = route.shadow ? 'flexprice + shadow metronome' : 'flexprice';
      const line = `| deliver ${name} | ${events} events, ${deliveries} deliveries | ${seconds.toFixed(2)} s | **${Math.round(deliveries / seconds)} deliveries/s** (${Math.round(events / seconds)} events/s) |`;
      log(line);
      lines.push(line);
      notes.push(
        `deliver ${name}: CPU per delivery: dispatcher ${perEvent(used.dispatcher, deliveries)}, Postgres ${perEvent(used.postgres, deliveries)}, fakes ${perEvent(used.fakes, deliveries)}`,
      );
    }

    // 2. Admission with and without dispatch, rotating slices, each from an empty outbox.
    const org = await newOrg({ backend: 'flexprice', shadow: 'metronome' });
    const quiet = await newOrg({ backend: 'none' });
    type Mode = 'stopped' | 'separate' | 'in-process';
    const results: Record<Mode, LoadResult[]> = { stopped: [], separate: [], 'in-process': [] };
    const spent: Record<Mode, CpuReading[]> = { stopped: [], separate: [], 'in-process': [] };
    const slice = async (mode: Mode, s: number) => {
      await drain();
      if (mode === 'stopped') b.pause();
      const port = mode === 'in-process' ? b.port : a.port;
      const before = await cpu();
      const r = await closedLoop({
        port,
        connections: 64,
        seconds: SLICE_SECONDS,
        ...workload(`${mode}-${s}-${randomBytes(3).toString('hex')}`, mode === 'stopped' ? quiet : org),
      });
      spent[mode].push(minus(await cpu(), before));
      results[mode].push(r);
    };
    const slices = PARTS.has('admission') ? SLICES : 0;
    // Warm both processes' hot paths first.
    await closedLoop({ port: a.port, connections: 64, seconds: 2, ...workload(`warm-a-${randomBytes(3).toString('hex')}`, org) });
    await closedLoop({ port: b.port, connections: 64, seconds: 2, ...workload(`warm-b-${randomBytes(3).toString('hex')}`, org) });
    const order: Mode[] = ['stopped', 'separate', 'in-process'];
    for (let s = 0; s < slices; s++) for (let m = 0; m < order.length; m++) await slice(order[(m + s) % order.length], s);
    await drain();
    const merged = Object.fromEntries(order.filter(() => slices > 0).map((m) => [m, mergeResults(results[m])])) as Record<Mode, LoadResult>;
    const label: Record<Mode, string> = {
      stopped: 'admission alone (instance A, org on none, dispatcher stopped)',
      separate: 'admission on A, dispatcher running on its own instance B (org on flexprice + shadow metronome)',
      'in-process': 'admission and dispatcher in one process (instance B, org on flexprice + shadow metronome)',
    };
    for (const m of slices > 0 ? order : []) {
      const r = merged[m];
      lines.push(
        `| ${label[m]} | 64 connections, ${SLICES} × ${SLICE_SECONDS} s | p99 ${(r.latencyUs.p99 / 1000).toFixed(1)} ms | **${Math.round(r.rps)} req/s** |`,
      );
      const total = spent[m].reduce((acc, x) => combine(acc, x, 1));
      const answered = results[m].reduce((n, x) => n + x.ok, 0);
      const us = (s: number) => Math.round((s * 1e6) / answered);
      notes.push(
        `${m}: CPU per admission request: ${m === 'in-process' ? `service (admission + dispatch) ${us(total.dispatcher)}` : `admission instance ${us(total.admission)}, dispatcher instance ${us(total.dispatcher)}`} µs, Postgres ${us(total.postgres)}, Redis ${us(total.redis)}, fakes ${us(total.fakes)}, load client ${us(total.client)} µs`,
      );
    }
    for (const m of slices > 0 ? (['separate', 'in-process'] as const) : []) {
      const ratio = merged[m].rps / merged.stopped.rps;
      lines.push(
        `| throughput ratio, ${m === 'separate' ? 'dispatch on its own instance' : 'dispatch in the admission process'} / dispatcher stopped | | | **${ratio.toFixed(3)}** (dispatch costs ${((1 - ratio) * 100).toFixed(1)} %) |`,
      );
    }
    log(lines.slice(-5).join('\n'));

    // 3. Outbox lag under an open loop of COMMIT_RATE commits/s offered to B (the default deployment).
    if (PARTS.has('lag')) {
      await drain();
      const lags: number[] = [];
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          const { rows } = await pg.query<{ lag: string | null }>(
            `select extract(epoch from now() - min(created_at)) as lag from usage_outbox where org_id = $1 and status in ('pending', 'failed')`,
            [org],
          );
          lags.push(Math.max(0, Number(rows[0].lag ?? 0)));
          await sleep(100);
        }
      })();
      const open = await openLoop({
        port: b.port,
        rate: COMMIT_RATE * 2,
        seconds: LAG_SECONDS,
        ...workload(`lag-${randomBytes(3).toString('hex')}`, org),
      });
      sampling = false;
      await sampler;
      const sorted = [...lags].sort((x, y) => x - y);
      lines.push(
        `| outbox lag, open loop ${COMMIT_RATE} commits/s offered to B (${(open.rps / 2).toFixed(0)} achieved, ${(COMMIT_RATE * DIMENSIONS).toLocaleString('en')} events/s offered × 2 backends) | ${LAG_SECONDS} s, ${lags.length} samples | p50 ${percentile(sorted, 50).toFixed(3)} s | **p99 ${percentile(sorted, 99).toFixed(3)} s**, max ${sorted.at(-1)?.toFixed(3)} s |`,
      );
      log(lines.at(-1)!);
    }
  } finally {
    agent.destroy();
    await pg.end();
    await Promise.all([a.stop(), b.stop()]);
    fakes.kill('SIGTERM');
    await deleteBenchKeys(redis);
    redis.disconnect();
  }
  const table = [
    `# bench:billing — ${machine.date}`,
    '',
    `${machine.cpuModel}, ${machine.cores} cores · Node ${machine.node} · Redis ${machine.redis} · commit ${machine.commit} · load average before ${machine.loadBefore.join(' ')}`,
    '',
    `Every part in its own process on these cores: the fakes (answering at once), service instances A (admission, BILLING_DISPATCH_ENABLED=false) and B (admission + dispatcher, the default), Postgres, Redis and the load client. ${DIMENSIONS} events per commit, BILLING_DISPATCH_INTERVAL_MS=${INTERVAL_MS}.`,
    '',
    '| measurement | load | time / latency | result |',
    '|---|---|---|---|',
    ...lines,
    '',
    'CPU (user + system, all processes of each part):',
    '',
    ...notes.map((n) => `- ${n}`),
    '',
  ].join('\n');
  const dir = path.join(REPO_ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'billing.md'), table);
  console.log(table);
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
