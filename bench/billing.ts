/**
 * `npm run bench:billing` (issue 12, item 8): the outbox dispatcher against fake vendors that
 * answer at once (their own process, `npm run fakes`); the service and the load client share
 * one process and the machine's cores with them (Postgres + Redis, as in production), so the
 * figures are a floor.
 * 1. Delivery throughput: BENCH_EVENTS usage events written by real commits with the
 *    dispatcher stopped, then delivered (flexprice alone, then flexprice + shadow metronome):
 *    events/s from start to an empty outbox.
 * 2. Admission with and without dispatch, interleaved in slices: reserve + commit in a
 *    closed loop (64 connections), the ratio of throughputs; then an open loop at
 *    BENCH_COMMIT_RATE commits/s with the dispatcher running, sampling the outbox lag
 *    (seconds since the oldest undelivered event) every 100 ms: p50 / p99 / max.
 * Writes bench/results/billing.md. Database: BENCH_DATABASE_URL (default .../tollgate_bench_billing),
 * Redis: BENCH_REDIS_URL (default redis://localhost:6379/0, keys under bench:billing:).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { EntityManager } from '@mikro-orm/postgresql';
import { OutboxDispatcher } from '@tollgate/billing';
import { createTestApp, FAKE_FLEXPRICE_KEYS, FAKE_METRONOME_TOKENS } from '@tollgate/testing';
import { freePort, REPO_ROOT, TS_NODE_ARGS } from './lib/children';
import { BenchRequest, closedLoop, LoadResult, mergeResults, openLoop, Workload } from './lib/load';

/** Events per commit (a chat: input and output tokens). */
const DIMENSIONS = Number(process.env.BENCH_DIMENSIONS ?? 2);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 50_000);
const SLICES = Number(process.env.BENCH_SLICES ?? 4);
const SLICE_SECONDS = Number(process.env.BENCH_SLICE_SECONDS ?? 3);
const COMMIT_RATE = Number(process.env.BENCH_COMMIT_RATE ?? 1_000);
const LAG_SECONDS = Number(process.env.BENCH_LAG_SECONDS ?? 10);
const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@localhost:5432/tollgate_bench_billing';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://localhost:6379/0';
const PLATFORM_KEY = 'tollgate-bench-billing-platform-key-000000';
const AUTH = { authorization: `Bearer ${PLATFORM_KEY}` };
const usage = Object.fromEntries(Array.from({ length: DIMENSIONS }, (_, i) => [`d${i}`, 10 + i]));

const log = (line: string) => process.stderr.write(`${line}\n`);

function ensureDatabase(): void {
  const url = new URL(DATABASE_URL);
  const name = url.pathname.slice(1);
  try {
    execFileSync('createdb', ['-h', url.hostname, '-p', url.port || '5432', '-U', url.username || 'postgres', name], { stdio: 'ignore' });
  } catch {
    // exists
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

function workload(runId: string, org: string): Workload {
  return {
    request: (i): BenchRequest => ({
      method: 'POST',
      path: '/v1/reservations',
      headers: { ...AUTH, 'idempotency-key': `${runId}-${i}` },
      body: { org_id: org, project_id: 'p', user_id: `u${i % 100}`, product: 'bench.billing', usage },
    }),
    followUp: (res, req) => {
      if (req.path !== '/v1/reservations') return undefined;
      const id = (JSON.parse(res.body) as { id: string }).id;
      return {
        method: 'POST',
        path: `/v1/reservations/${id}/commit`,
        headers: { ...AUTH, 'idempotency-key': `${req.headers?.['idempotency-key']}-c` },
        body: { usage },
      };
    },
  };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main(): Promise<void> {
  ensureDatabase();
  // The fakes run in their own process (npm run fakes): their request validation is not the service's CPU.
  const [fpPort, mnPort] = [await freePort(), await freePort()];
  const fakes = await startFakes(fpPort, mnPort);
  const [fpUrl, mnUrl] = [`http://127.0.0.1:${fpPort}`, `http://127.0.0.1:${mnPort}`];
  const t = await createTestApp({
    env: {
      DATABASE_URL,
      REDIS_URL,
      REDIS_KEY_PREFIX: 'bench:billing:',
      TOLLGATE_PLATFORM_KEY: PLATFORM_KEY,
      FLEXPRICE_BASE_URL: `${fpUrl}/v1`,
      FLEXPRICE_API_KEY: FAKE_FLEXPRICE_KEYS.live,
      METRONOME_BASE_URL: mnUrl,
      METRONOME_BEARER_TOKEN: FAKE_METRONOME_TOKENS.live,
      BILLING_DISPATCH_ENABLED: 'false',
      BILLING_DISPATCH_INTERVAL_MS: '50',
      RATE_LIMIT_PLATFORM_KEY_PER_SECOND: '1000000',
    },
  });
  await t.app.listen(0, '127.0.0.1');
  const port = (t.app.getHttpServer().address() as { port: number }).port;
  const dispatcher = t.app.get(OutboxDispatcher);
  const sql = <T>(query: string, params: unknown[] = []) => t.app.get(EntityManager).getConnection().execute<T[]>(query, params);
  const api = t.client;
  const lines: string[] = [];
  try {
    const card = await api.post('/v1/rate-cards', {
      name: 'bench billing',
      rates: Array.from({ length: DIMENSIONS }, (_, i) => ({
        product: 'bench.billing',
        dimension: `d${i}`,
        model: 'flat',
        unit_price: '0.001',
      })),
    });
    const newOrg = async (route: Record<string, unknown>) => {
      const org = await api.createOrg(`bb-${randomBytes(4).toString('hex')}`, { rate_card_id: card.body.id, overage_policy: 'allow' });
      await api.post(`/v1/orgs/${org}/credits`, { amount: 1_000_000_000_000_000, reason: 'bench' });
      const routed = await api.put(`/v1/orgs/${org}/billing`, route);
      if (routed.status !== 200) throw new Error(`routing ${routed.status} ${routed.text}`);
      return org;
    };
    const undelivered = async (org: string) =>
      Number(
        (
          await sql<{ n: string }>(
            `select count(*) as n from usage_outbox where org_id = ? and (status in ('pending', 'failed') or (destination = 'default' and status = 'pending'))`,
            [org],
          )
        )[0].n,
      );
    const commits = async (org: string, count: number) => {
      let done = 0;
      const runId = randomBytes(4).toString('hex');
      while (done < count) {
        const r = await closedLoop({ port, connections: 32, seconds: 2, ...workload(`${runId}-${done}`, org) });
        done += Math.floor(r.ok / 2);
      }
    };

    // 1. Delivery throughput.
    for (const route of [{ backend: 'flexprice' }, { backend: 'flexprice', shadow: 'metronome' }]) {
      const org = await newOrg(route);
      log(`writing ~${EVENTS} events for ${JSON.stringify(route)}`);
      await commits(org, Math.ceil(EVENTS / DIMENSIONS));
      const [{ n }] = await sql<{ n: string }>(`select count(*) as n from usage_events where org_id = ?`, [org]);
      const events = Number(n);
      const deliveries = events * (route.shadow ? 2 : 1);
      const started = Date.now();
      dispatcher.start();
      while ((await undelivered(org)) > 0) await new Promise((r) => setTimeout(r, 50));
      const seconds = (Date.now() - started) / 1000;
      await dispatcher.stop();
      const line = `| deliver ${route.shadow ? 'flexprice + shadow metronome' : 'flexprice'} | ${events} events, ${deliveries} deliveries | ${seconds.toFixed(2)} s | **${Math.round(deliveries / seconds)} deliveries/s** (${Math.round(events / seconds)} events/s) |`;
      log(line);
      lines.push(line);
    }

    // 2. Admission with and without dispatch (closed loop, interleaved slices). Without: an
    // organization on `none`, dispatcher stopped. With: one on flexprice + shadow metronome,
    // dispatcher running. Each slice starts with an empty outbox, so a slice pays only for
    // dispatching its own events.
    const org = await newOrg({ backend: 'flexprice', shadow: 'metronome' });
    const quiet = await newOrg({ backend: 'none' });
    const off: LoadResult[] = [];
    const on: LoadResult[] = [];
    const drain = async () => {
      dispatcher.start();
      while ((await undelivered(org)) + (await undelivered(quiet)) > 0) await new Promise((r) => setTimeout(r, 50));
      await dispatcher.stop();
    };
    await closedLoop({ port, connections: 64, seconds: 2, ...workload(`warm-${randomBytes(3).toString('hex')}`, quiet) });
    await drain();
    for (let s = 0; s < SLICES; s++) {
      off.push(
        await closedLoop({
          port,
          connections: 64,
          seconds: SLICE_SECONDS,
          ...workload(`off-${s}-${randomBytes(3).toString('hex')}`, quiet),
        }),
      );
      await drain();
      dispatcher.start();
      on.push(
        await closedLoop({ port, connections: 64, seconds: SLICE_SECONDS, ...workload(`on-${s}-${randomBytes(3).toString('hex')}`, org) }),
      );
      await drain();
    }
    const offR = mergeResults(off);
    const onR = mergeResults(on);
    const ratio = onR.rps / offR.rps;
    for (const [name, r] of [
      ['admission (reserve + commit), org on none, dispatcher stopped', offR],
      ['admission (reserve + commit), org on flexprice + shadow metronome, dispatcher running', onR],
    ] as const) {
      lines.push(
        `| ${name} | 64 connections, ${SLICES} × ${SLICE_SECONDS} s | p99 ${(r.latencyUs.p99 / 1000).toFixed(1)} ms | **${Math.round(r.rps)} req/s** |`,
      );
    }
    lines.push(
      `| throughput ratio (running / stopped) | | | **${ratio.toFixed(3)}** (dispatch costs ${((1 - ratio) * 100).toFixed(1)} %) |`,
    );
    log(lines.slice(-3).join('\n'));

    // 3. Outbox lag under an open loop of COMMIT_RATE commits/s, dispatcher running.
    dispatcher.start();
    while ((await undelivered(org)) > 0) await new Promise((r) => setTimeout(r, 50));
    const lags: number[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const [row] = await sql<{ lag: string | null }>(
          `select extract(epoch from now() - min(created_at)) as lag from usage_outbox where org_id = ? and status in ('pending', 'failed')`,
          [org],
        );
        lags.push(Math.max(0, Number(row.lag ?? 0)));
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const open = await openLoop({
      port,
      rate: COMMIT_RATE * 2,
      seconds: LAG_SECONDS,
      ...workload(`lag-${randomBytes(3).toString('hex')}`, org),
    });
    sampling = false;
    await sampler;
    await dispatcher.stop();
    const sorted = [...lags].sort((a, b) => a - b);
    lines.push(
      `| outbox lag, open loop ${COMMIT_RATE} commits/s offered (${(open.rps / 2).toFixed(0)} achieved, ${(COMMIT_RATE * DIMENSIONS).toLocaleString('en')} events/s offered × 2 backends) | ${LAG_SECONDS} s, ${lags.length} samples | p50 ${percentile(sorted, 50).toFixed(3)} s | **p99 ${percentile(sorted, 99).toFixed(3)} s**, max ${sorted.at(-1)?.toFixed(3)} s |`,
    );
    log(lines.at(-1)!);
  } finally {
    await dispatcher.stop();
    await t.close();
    fakes.kill('SIGTERM');
  }
  const table = [
    `# bench:billing — ${new Date().toISOString()}`,
    '',
    'Service and load client in one process, the fakes (answering at once) in another, on this machine (Postgres + Redis).',
    '',
    '| measurement | load | time / latency | result |',
    '|---|---|---|---|',
    ...lines,
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
