/**
 * `npm run bench:admission` (issue 3, item 6): the two floors and the real service,
 * measured in one run on this machine, printed as one markdown table and written to
 * bench/results/latest.md. `npm run bench:floors` (`--floors`) runs only the floors and
 * writes bench/results/floors.md.
 *
 * Targets are child processes. Each measurement: 3 s of the same workload as warm-up
 * (discarded), then BENCH_SECONDS measured. Measurements compared in a ratio (the floors;
 * saturation against the nest floor; hot against spread; 1k against 1M users) run
 * interleaved in ~2 s slices; only one load runs at any moment.
 * Run with ts-node (see bench/lib/children.ts for why not compiled).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { Child, freePort, REPO_ROOT, TS_NODE_ARGS } from './lib/children';
import { ms } from './lib/latency';
import { call, closedLoop, inPool, LoadResult, mergeResults, openLoop, Workload } from './lib/load';
import { deleteBenchKeys, forgetOrg, machineInfo, MachineInfo, redisCpuSeconds, systemCpu } from './lib/machine';
import { BenchOptions, readOptions } from './lib/options';
import {
  DEFAULT_MAIN_JS,
  NotImplemented,
  populations,
  primeLargeOrg,
  primeOrgs,
  reserveThenCommit,
  seededPicker,
  setUp,
  startTollgate,
  TollgateApi,
  TTL_SECONDS,
} from './service/tollgate';

const RESULTS_DIR = path.join(REPO_ROOT, 'bench', 'results');

/** A measured run: the load result plus the CPU seconds each party used while it ran. */
interface Measured {
  load: LoadResult;
  serverCpuS: number;
  redisCpuS: number;
  /** The whole machine, every core, steal excluded. */
  machineBusyS: number;
  stealS: number;
}

type Outcome = { measured: Measured } | { na: string };

const log = (line: string) => process.stderr.write(`${line}\n`);

/** Everything started is stopped on the way out, also on Ctrl-C. */
const running = new Set<Child>();
let redis: Redis;

async function withChild<T>(start: () => Promise<Child>, use: (child: Child) => Promise<T>): Promise<T> {
  const child = await start();
  running.add(child);
  try {
    return await use(child);
  } finally {
    await child.stop();
    running.delete(child);
  }
}

type Load = { kind: 'closed'; connections: number } | { kind: 'open'; rate: number };

/** One measurement: a workload on a target, `phase` names the idempotency keys of each run. */
interface Subject {
  name: string;
  child: Child;
  load: Load;
  workload: (phase: string) => Workload;
}

function runLoad(subject: Subject, seconds: number, phase: string): Promise<LoadResult> {
  const { child, load } = subject;
  const w = subject.workload(phase);
  return load.kind === 'closed'
    ? closedLoop({ port: child.port, connections: load.connections, seconds, ...w })
    : openLoop({ port: child.port, rate: load.rate, seconds, ...w });
}

/**
 * Sends, unmeasured, the follow-ups a run ended with (commits of holds it still had), so
 * they do not expire later, in the middle of another run, as a burst of sweeper work.
 */
async function settleUnsent(subject: Subject, result: LoadResult): Promise<void> {
  if (result.unsent.length === 0) return;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  try {
    await inPool(result.unsent, 32, async (req) => void (await call(subject.child.port, req, agent).catch(() => undefined)));
  } finally {
    agent.destroy();
  }
}

async function timed(subject: Subject, seconds: number, phase: string): Promise<Measured> {
  const serverBefore = subject.child.cpuSeconds();
  const redisBefore = await redisCpuSeconds(redis);
  const systemBefore = systemCpu();
  const load = await runLoad(subject, seconds, phase);
  const system = systemCpu();
  const measured: Measured = {
    load,
    serverCpuS: subject.child.cpuSeconds() - serverBefore,
    redisCpuS: (await redisCpuSeconds(redis)) - redisBefore,
    machineBusyS: (system.busy - systemBefore.busy) / 100,
    stealS: (system.steal - systemBefore.steal) / 100,
  };
  await settleUnsent(subject, load);
  return measured;
}

function combine(parts: Measured[]): Measured {
  const sum = (f: (m: Measured) => number) => parts.reduce((n, m) => n + f(m), 0);
  return {
    load: mergeResults(parts.map((m) => m.load)),
    serverCpuS: sum((m) => m.serverCpuS),
    redisCpuS: sum((m) => m.redisCpuS),
    machineBusyS: sum((m) => m.machineBusyS),
    stealS: sum((m) => m.stealS),
  };
}

/** Seconds per slice when subjects are interleaved. */
const SLICE_SECONDS = 2;

/**
 * Warms each subject up, then measures them in alternating slices of about 2 s (A B, B A,
 * A B, ...) adding up to BENCH_SECONDS each. On a machine whose background load drifts
 * (other processes, steal), interleaving puts the drift on both sides of a ratio instead
 * of on whichever ran second. One subject: one run of BENCH_SECONDS.
 */
async function measure(opts: BenchOptions, ...subjects: Subject[]): Promise<Measured[]> {
  for (const subject of subjects) {
    if (opts.warmupSeconds <= 0) continue;
    log(`${subject.name}: warm-up ${opts.warmupSeconds} s`);
    const warm = await runLoad(subject, opts.warmupSeconds, 'warm');
    await settleUnsent(subject, warm);
    if (warm.ok === 0) throw new Error(`${subject.name}: no request succeeded during warm-up: ${describeErrors(warm)}`);
  }
  const slices = subjects.length > 1 ? Math.max(1, Math.round(opts.seconds / SLICE_SECONDS)) : 1;
  const seconds = opts.seconds / slices;
  const parts: Measured[][] = subjects.map(() => []);
  log(
    `${subjects.map((s) => s.name).join(' / ')}: measuring ${opts.seconds} s each${slices > 1 ? ` in ${slices} alternating slices` : ''}`,
  );
  for (let slice = 0; slice < slices; slice++) {
    const order = subjects.map((_, i) => i);
    if (slice % 2 === 1) order.reverse();
    for (const i of order) parts[i].push(await timed(subjects[i], seconds, `run${slice}`));
  }
  const results = parts.map(combine);
  results.forEach((m, i) => {
    const r = m.load;
    log(
      `${subjects[i].name}: ${Math.round(r.rps)} req/s, p50 ${ms(r.latencyUs.p50)} ms, p99 ${ms(r.latencyUs.p99)} ms, errors: ${describeErrors(r) || 'none'}`,
    );
  });
  return results;
}

// ---------------------------------------------------------------------------------------
// Floors

/** The floors' request: one org, one project, users spread over 1,000, like the service's hot org. */
function floorWorkload(): Workload {
  const pick = seededPicker(42);
  return {
    request: (i) => ({
      method: 'POST',
      path: '/v1/reservations',
      body: {
        org_id: 'org',
        project_id: 'p',
        user_id: `u-${pick(1_000)}`,
        amount: 1_000,
        ttl_seconds: TTL_SECONDS,
        metadata: { request_id: `gen-${i}` },
      },
    }),
  };
}

async function startFloor(name: string, file: string, opts: BenchOptions): Promise<Child> {
  const port = await freePort();
  return Child.start({
    name,
    args: [...TS_NODE_ARGS, path.join('bench', 'floors', file)],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NODE_ENV: 'production', PORT: String(port), REDIS_URL: opts.redisUrl },
    port,
    readyPath: '/health',
    readyTimeoutMs: 30_000,
  });
}

interface Floors {
  bare: Measured;
  nest: Measured;
}

const closedLoad = (opts: BenchOptions): Load => ({ kind: 'closed', connections: opts.connections });

/** The nest floor as a subject, so it can be measured again alongside the service. */
const nestSubject = (child: Child, opts: BenchOptions): Subject => ({
  name: 'nest-fastify floor',
  child,
  load: closedLoad(opts),
  workload: floorWorkload,
});

// ---------------------------------------------------------------------------------------
// The service

interface ServiceOutcomes {
  saturation: Outcome;
  /** Raw-amount and priced reserve + commit on the hot org, interleaved: what pricing costs. */
  raw: Outcome;
  priced: Outcome;
  /** The nest floor measured again, interleaved with saturation: what "% of nest floor" divides by. */
  nestAlongside?: Measured;
  openLoop: Outcome;
  hot: Outcome;
  spread: Outcome;
  smallUsers: Outcome;
  largeUsers: Outcome;
  notes: string[];
}

function allNa(reason: string): ServiceOutcomes {
  const na = { na: reason };
  return { saturation: na, raw: na, priced: na, openLoop: na, hot: na, spread: na, smallUsers: na, largeUsers: na, notes: [] };
}

async function runService(opts: BenchOptions, stamp: string, nestFloor: Child): Promise<ServiceOutcomes> {
  return withChild(
    () => startTollgate(opts.redisUrl, opts.serviceMain ?? DEFAULT_MAIN_JS),
    async (child) => {
      const api = new TollgateApi(child.port);
      try {
        const availability = await api.reservations();
        if (!availability.implemented) {
          log(`service: ${availability.reason}; its rows are n/a`);
          return allNa(availability.reason);
        }
        const pop = populations(opts.spreadOrgs, opts.smallUsers, opts.largeUsers);
        try {
          log('service: setting up organizations (once per database)');
          await setUp(api, pop, log, async (org) => void (await forgetOrg(redis, org)));
          log('service: priming the hot org and every spread org (one reserve + commit each)');
          await primeOrgs(api, pop, `${stamp}-prime`);
        } catch (error) {
          if (error instanceof NotImplemented) {
            log(`service: ${error.message}; its rows are n/a`);
            return allNa(error.message);
          }
          throw error;
        }

        const closed = closedLoad(opts);
        const open: Load = { kind: 'open', rate: opts.openRate };
        type Pick = () => { org: string; user: string };
        const hotOrg = (seed: number): Pick => {
          const pick = seededPicker(seed);
          return () => ({ org: pop.hotOrg, user: `u-${pick(pop.hotUsers)}` });
        };
        const spread = (seed: number): Pick => {
          const pick = seededPicker(seed);
          return () => ({ org: pop.spreadOrgs[pick(pop.spreadOrgs.length)], user: 'u-0' });
        };
        const large = (seed: number): Pick => {
          const pick = seededPicker(seed);
          return () => ({ org: pop.largeOrg, user: `u-${pick(pop.largeUsers)}` });
        };
        // Every run gets its own idempotency keys; warm-up and measured runs their own seeds.
        const subject = (name: string, load: Load, picker: (seed: number) => Pick, priced = false): Subject => ({
          name,
          child,
          load,
          workload: (phase) =>
            reserveThenCommit(`${stamp}-${name.replace(/\W+/g, '-')}-${phase}`, picker(phase === 'warm' ? 7 : 11), priced),
        });

        // A run that fails marks its own rows failed; the rows measured before it stand.
        const guarded = async (what: string, subjects: Subject[]): Promise<Outcome[]> => {
          try {
            return (await measure(opts, ...subjects)).map((measured) => ({ measured }));
          } catch (error) {
            const na = `failed: ${String((error as Error).message ?? error).slice(0, 200)}`;
            log(`service ${what}: ${na}`);
            process.exitCode = 1;
            return subjects.map(() => ({ na }));
          }
        };
        const notes: string[] = [];
        const [saturation, nestAlongside] = await guarded('saturation', [
          subject('service saturation', closed, hotOrg),
          nestSubject(nestFloor, opts),
        ]);
        const [raw, priced] = await guarded('raw vs priced', [
          subject('service raw amounts', closed, hotOrg),
          subject('service priced (rate card)', closed, hotOrg, true),
        ]);
        const [openLoopRun] = await guarded('open loop', [subject(`service open loop ${opts.openRate}/s`, open, hotOrg)]);
        const [hot, spreadRun] = await guarded('hot vs spread', [
          subject('service hot org', closed, hotOrg),
          subject(`service spread ${pop.spreadOrgs.length} orgs`, closed, spread),
        ]);

        // Primed only now: a slow or failing rebuild of the large org cannot disturb the rows above.
        log(`service: priming the ${int(pop.largeUsers)}-user org`);
        const primeStarted = Date.now();
        let small: Outcome;
        let largeRun: Outcome;
        try {
          const firstMs = await primeLargeOrg(api, pop, `${stamp}-prime`);
          notes.push(
            `first answer for the ${int(pop.largeUsers)}-user org after its Redis keys were deleted (rebuild from Postgres, 503s retried): ${int(firstMs)} ms`,
          );
          [small, largeRun] = await guarded('users', [
            subject(`service ${pop.hotUsers} users`, open, hotOrg),
            subject(`service ${pop.largeUsers} users`, open, large),
          ]);
        } catch (error) {
          const exited = child.exitStatus;
          const message = `${String((error as Error).message ?? error)}${exited ? `; the service process exited (${exited}), log: ${child.logFile}` : ''}`;
          log(`service: ${message}`);
          process.exitCode = 1;
          notes.push(`the ${int(pop.largeUsers)}-user org could not be primed in ${int((Date.now() - primeStarted) / 1000)} s: ${message}`);
          // The open-loop row is the same workload (the hot org's users at the same rate): it stands in,
          // measured before the failed rebuild could disturb the service.
          small = openLoopRun;
          largeRun = { na: `failed: ${message.slice(0, 200)}` };
          if ('measured' in small) notes.push(`the ${int(pop.hotUsers)}-user row is the open-loop run above (same workload)`);
        }
        return {
          saturation,
          raw,
          priced,
          nestAlongside: 'measured' in nestAlongside ? nestAlongside.measured : undefined,
          openLoop: openLoopRun,
          hot,
          spread: spreadRun,
          smallUsers: small,
          largeUsers: largeRun,
          notes,
        };
      } finally {
        api.close();
      }
    },
  );
}

/**
 * Both floors run side by side (an idle one costs nothing) and are measured interleaved;
 * the nest floor stays up to be measured again alongside the service's saturation run.
 */
async function runAll(opts: BenchOptions, stamp: string): Promise<{ floors: Floors; service?: ServiceOutcomes }> {
  return withChild(
    () => startFloor('nest-fastify-floor', 'nest-fastify-evalsha.ts', opts),
    async (nestChild) => {
      const [bare, nest] = await withChild(
        () => startFloor('bare-floor', 'bare-evalsha.ts', opts),
        (bareChild) =>
          measure(
            opts,
            { name: 'bare floor', child: bareChild, load: closedLoad(opts), workload: floorWorkload },
            nestSubject(nestChild, opts),
          ),
      );
      const floors = { bare, nest };
      if (opts.floorsOnly) return { floors };
      try {
        return { floors, service: await runService(opts, stamp, nestChild) };
      } catch (error) {
        // The floors were measured: print them, with the service rows marked failed.
        log(`service: ${(error as Error).stack ?? String(error)}`);
        process.exitCode = 1;
        return {
          floors,
          service: allNa(
            `failed: ${String((error as Error).message ?? error)
              .split('\n')[0]
              .slice(0, 200)}`,
          ),
        };
      }
    },
  );
}

// ---------------------------------------------------------------------------------------
// The table

function describeErrors(r: LoadResult): string {
  const parts = [
    ...Object.entries(r.httpErrors).map(([status, n]) => `${status}×${n}`),
    ...Object.entries(r.socketErrors).map(([code, n]) => `${code}×${n}`),
    ...Object.entries(r.workloadErrors).map(([message, n]) => `${message}×${n}`),
  ];
  return parts.join(', ');
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const pct = (n: number) => `${Math.round(n * 100)}%`;
const verdict = (ok: boolean) => (ok ? 'met' : '**missed**');

interface Row {
  label: string;
  rps?: string;
  p50?: string;
  p99?: string;
  p999?: string;
  ratio?: string;
  target?: string;
  errors?: string;
}

function figures(o: Outcome, show: { rps?: boolean; p50?: boolean; p99?: boolean; p999?: boolean }): Omit<Row, 'label'> {
  if ('na' in o) return { rps: `n/a: ${o.na}` };
  const l = o.measured.load;
  return {
    rps: show.rps ? int(l.rps) : '',
    p50: show.p50 ? ms(l.latencyUs.p50) : '',
    p99: show.p99 ? ms(l.latencyUs.p99) : '',
    p999: show.p999 ? ms(l.latencyUs.p999) : '',
    errors: describeErrors(l) || '0',
  };
}

const ALL = { rps: true, p50: true, p99: true, p999: true };

function rows(opts: BenchOptions, floors: Floors, service: ServiceOutcomes | undefined): Row[] {
  const c = opts.connections;
  const out: Row[] = [
    { label: `Bare floor: node:http + 1 EVALSHA, ${c} conns`, ...figures({ measured: floors.bare }, ALL) },
    {
      label: `NestJS-on-Fastify floor: ValidationPipe + 1 EVALSHA, ${c} conns`,
      ...figures({ measured: floors.nest }, ALL),
      ratio: `${pct(floors.nest.load.rps / floors.bare.load.rps)} of bare`,
    },
  ];
  if (!service) return out;

  const m = (o: Outcome) => ('measured' in o ? o.measured.load : undefined);
  const sat = m(service.saturation);
  // Against the nest floor measured in the same minutes (interleaved), not the one above.
  const nestAlongside = service.nestAlongside?.load.rps;
  const satShare = sat && nestAlongside ? sat.rps / nestAlongside : undefined;
  out.push({
    label: `Service saturation: reserve + commit, ${c} conns`,
    ...figures(service.saturation, ALL),
    ratio: satShare !== undefined && nestAlongside ? `${pct(satShare)} of nest floor (${int(nestAlongside)}/s, measured interleaved)` : '',
    target: `≥ 3,000/s and ≥ 75% of nest floor${sat && satShare !== undefined ? `: ${verdict(sat.rps >= 3000 && satShare >= 0.75)}` : ''}`,
  });
  const raw = m(service.raw);
  const priced = m(service.priced);
  const pricedShare = raw && priced ? priced.rps / raw.rps : undefined;
  out.push({ label: `Raw amounts: reserve + commit, ${c} conns`, ...figures(service.raw, ALL) });
  out.push({
    label: `Priced from a rate card (graduated, dimensional match): reserve + commit, ${c} conns`,
    ...figures(service.priced, ALL),
    ratio: pricedShare !== undefined ? `${pct(pricedShare)} of raw (interleaved)` : '',
    target: `pricing costs < 5%${pricedShare !== undefined ? `: ${verdict(pricedShare >= 0.95)}` : ''}`,
  });
  const open = m(service.openLoop);
  out.push({
    label: `Service open loop, ${int(opts.openRate)} req/s offered${open?.open?.fellBehind ? ' (generator fell behind, see notes)' : ''}`,
    ...figures(service.openLoop, { p50: true, p99: true }),
    target: `p99 ≤ 10 ms${open ? `: ${verdict(open.latencyUs.p99 <= 10_000)}` : ''}`,
  });
  const hot = m(service.hot);
  const spread = m(service.spread);
  const hotShare = hot && spread ? hot.rps / spread.rps : undefined;
  out.push({
    label: `Hot org: every request on 1 org (${int(opts.smallUsers)} users), ${c} conns`,
    ...figures(service.hot, { rps: true }),
  });
  out.push({
    label: `Spread: ${int(opts.spreadOrgs)} orgs, ${c} conns`,
    ...figures(service.spread, { rps: true }),
    ratio: hotShare !== undefined ? `hot = ${pct(hotShare)} of spread` : '',
    target: `hot ≥ 80% of spread${hotShare !== undefined ? `: ${verdict(hotShare >= 0.8)}` : ''}`,
  });
  const small = m(service.smallUsers);
  const large = m(service.largeUsers);
  const growth = small && large ? large.latencyUs.p99 / Math.max(1, small.latencyUs.p99) : undefined;
  out.push({
    label: `${int(opts.smallUsers)} users in the hierarchy, ${int(opts.openRate)} req/s offered`,
    ...figures(service.smallUsers, { p99: true }),
  });
  out.push({
    label: `${int(opts.largeUsers)} users in the hierarchy, ${int(opts.openRate)} req/s offered`,
    ...figures(service.largeUsers, { p99: true }),
    ratio: growth !== undefined ? `p99 ${growth.toFixed(2)}x` : '',
    target: `≤ 1.2x${growth !== undefined ? `: ${verdict(growth <= 1.2)}` : ''}`,
  });
  return out;
}

function cpuNotes(named: [string, Outcome | undefined][]): string[] {
  const notes: string[] = [];
  for (const [name, o] of named) {
    if (!o || !('measured' in o)) continue;
    const m = o.measured;
    const load = m.load;
    const percent = (cpuS: number) => Math.round((cpuS / load.seconds) * 100);
    const clientS = (load.clientCpuPercent / 100) * load.seconds;
    const otherS = Math.max(0, m.machineBusyS - clientS - m.serverCpuS - m.redisCpuS);
    const cpu = [
      `client ${Math.round(load.clientCpuPercent)}`,
      `server ${percent(m.serverCpuS)}`,
      `Redis ${percent(m.redisCpuS)}`,
      `other processes ${percent(otherS)}`,
      `steal ${percent(m.stealS)}`,
    ].join(', ');
    const answered = load.ok + Object.values(load.httpErrors).reduce((a, b) => a + b, 0);
    const perRequestUs = answered > 0 ? (m.serverCpuS * 1e6) / answered : 0;
    const ceiling = perRequestUs > 0 ? ` (≈ ${int(1e6 / perRequestUs)}/s if it had a core to itself)` : '';
    let line = `${name}: ${int(load.ok)} ok of ${int(load.sent)} sent in ${load.seconds.toFixed(1)} s; CPU in % of one core: ${cpu}; server CPU ${Math.round(perRequestUs)} µs per request${ceiling}; max latency ${ms(load.latencyUs.max)} ms`;
    if (load.open) {
      const r = load.open;
      line += `; dispatch lag p99 ${ms(r.dispatchLagUs.p99)} ms, max ${ms(r.dispatchLagUs.max)} ms, ${r.lateSends} sends > 2 ms late, ${r.connectionBound} waited for a connection (max ${r.maxInFlight} in flight), ${r.followUpsDropped} commits due at the end (sent afterwards, unmeasured)`;
      if (r.fellBehind) line += ' — **the generator fell behind schedule**';
    }
    for (const [status, body] of Object.entries(load.errorSamples)) line += `; first ${status}: \`${body.replace(/[`|\n]/g, ' ')}\``;
    notes.push(line);
  }
  return notes;
}

function render(opts: BenchOptions, machine: MachineInfo, floors: Floors, service: ServiceOutcomes | undefined): string {
  const head = '| Measurement | req/s | p50 ms | p99 ms | p99.9 ms | Ratio | Target | Errors |';
  const sep = '|---|---:|---:|---:|---:|---|---|---|';
  const cell = (v: string | undefined) => (v ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const body = rows(opts, floors, service).map(
    (r) => `| ${[r.label, r.rps, r.p50, r.p99, r.p999, r.ratio, r.target, r.errors].map(cell).join(' | ')} |`,
  );
  const named: [string, Outcome | undefined][] = [
    ['bare floor', { measured: floors.bare }],
    ['nest-fastify floor', { measured: floors.nest }],
  ];
  if (service) {
    named.push(
      ['saturation', service.saturation],
      ['raw amounts', service.raw],
      ['priced', service.priced],
      ['nest-fastify floor, interleaved with saturation', service.nestAlongside && { measured: service.nestAlongside }],
      ['open loop', service.openLoop],
      ['hot org', service.hot],
      ['spread', service.spread],
      [`${int(opts.smallUsers)} users`, service.smallUsers],
      [`${int(opts.largeUsers)} users`, service.largeUsers],
    );
  }
  const measured = named.flatMap(([, o]) => (o && 'measured' in o ? [o.measured] : []));
  const seconds = measured.reduce((n, m) => n + m.load.seconds, 0);
  const others =
    measured.reduce(
      (n, m) => n + Math.max(0, m.machineBusyS - (m.load.clientCpuPercent / 100) * m.load.seconds - m.serverCpuS - m.redisCpuS),
      0,
    ) / seconds;
  const steal = measured.reduce((n, m) => n + m.stealS, 0) / seconds;
  const noisy =
    others > 0.25 || steal > 0.1
      ? [
          `**Noisy machine:** while measuring, other processes used ${Math.round(others * 100)}% of a core on average and steal was ${Math.round(steal * 100)}%: figures are lower and ratios less certain than on a quiet machine (per-run breakdown below).`,
          '',
        ]
      : [];
  const lines = [
    `# ${service ? 'Admission benchmark' : 'Admission benchmark: floors only'}`,
    '',
    `${machine.date} · ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB · ${machine.kernel} · Node ${machine.node} · Redis ${machine.redis} · commit ${machine.commit}`,
    `Load average before the run: ${machine.loadBefore.join(', ')} · ${opts.seconds} s measured per row (pairs interleaved in ~2 s slices) after ${opts.warmupSeconds} s warm-up${opts.quick ? ' (BENCH_QUICK smoke run)' : ''} · client, server and Redis share the machine`,
    '',
    ...noisy,
    head,
    sep,
    ...body,
    '',
    'Latencies are of 2xx answers; closed loop from send, open loop from the scheduled instant. Errors: non-2xx by status, then socket errors by code, then 2xx answers the workload could not use.',
    '',
    ...cpuNotes(named).map((n) => `- ${n}`),
    ...(service?.notes ?? []).map((n) => `- ${n}`),
    '',
  ];
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const opts = readOptions(process.env, process.argv.slice(2));
  redis = new Redis(opts.redisUrl, { maxRetriesPerRequest: 1, connectionName: 'tollgate-bench-runner' });
  const machine = await machineInfo(redis);
  const stamp = `bench-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  log(`load average before: ${machine.loadBefore.join(', ')}; ${opts.seconds} s per row, warm-up ${opts.warmupSeconds} s`);

  let output: string;
  try {
    const { floors, service } = await runAll(opts, stamp);
    output = render(opts, machine, floors, service);
  } finally {
    await cleanUp();
  }
  process.stdout.write(`\n${output}`);
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, opts.floorsOnly ? 'floors.md' : 'latest.md');
  writeFileSync(file, output);
  log(`written to ${path.relative(REPO_ROOT, file)}`);
}

async function cleanUp(): Promise<void> {
  for (const child of running) await child.stop();
  running.clear();
  if (redis) {
    const deleted = await deleteBenchKeys(redis).catch((error: Error) => (log(`could not delete bench:* keys: ${error.message}`), 0));
    log(`deleted ${deleted} bench:* keys`);
    redis.disconnect();
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping`);
    void cleanUp().finally(() => process.exit(130));
  });
}
// Children are not ours to orphan: whatever goes wrong, they are stopped before we exit.
process.once('uncaughtException', (error) => {
  log(`bench failed: ${error.stack ?? String(error)}`);
  void cleanUp().finally(() => process.exit(1));
});

main().catch((error) => {
  log(`bench failed: ${(error as Error).stack ?? String(error)}`);
  process.exitCode = 1;
});
