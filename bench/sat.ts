/**
 * `npm run bench:sat`: only the service saturation row (reserve + commit, 64 connections) of
 * one or more builds, interleaved in slices, for quick A/B comparisons while optimising.
 * BENCH_SERVICE_MAIN=a.js,b.js compares builds; BENCH_WORKLOADS=raw,priced compares raw amounts
 * with priced reserves (the hot org's rate card); BENCH_CPU_PROF=dir writes V8 CPU profiles.
 * Run bench:admission once first (it sets up the organizations in tollgate_bench).
 */
import path from 'node:path';
import { Child, REPO_ROOT } from './lib/children';
import { closedLoop, mergeResults, LoadResult, openLoop } from './lib/load';
import { DEFAULT_MAIN_JS, populations, reserveThenCommit, seededPicker, startTollgate } from './service/tollgate';

function start(mainJs: string, profDir: string | undefined): Promise<Child> {
  const flags = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  return startTollgate(process.env.BENCH_REDIS_URL ?? 'redis://localhost:6379', mainJs, [
    ...(profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : []),
    ...flags,
  ]);
}

async function main(): Promise<void> {
  const mains = (process.env.BENCH_SERVICE_MAIN || DEFAULT_MAIN_JS).split(',').map((m) => path.resolve(REPO_ROOT, m));
  const seconds = Number(process.env.BENCH_SECONDS ?? 10);
  const slices = Math.max(1, Math.round(seconds / 2));
  const pop = populations(10_000, 1_000, 1_000_000);
  const children: Child[] = [];
  for (const m of mains) children.push(await start(m, process.env.BENCH_CPU_PROF));
  const workloads = (process.env.BENCH_WORKLOADS ?? 'raw').split(',');
  const runs = mains.flatMap((m, i) => workloads.map((w) => ({ name: `${m} ${w}`, child: children[i], priced: w === 'priced' })));
  const results: LoadResult[][] = runs.map(() => []);
  try {
    const pick = seededPicker(7);
    const workload = (phase: string, priced: boolean) =>
      reserveThenCommit(`sat-${Date.now()}-${phase}`, () => ({ org: pop.hotOrg, user: `u-${pick(pop.hotUsers)}` }), priced);
    for (const [i, run] of runs.entries())
      await closedLoop({ port: run.child.port, connections: 64, seconds: 3, ...workload(`warm${i}`, run.priced) });
    if (process.env.BENCH_OPEN_RATE) {
      // One open-loop run per build instead: latency at a fixed offered rate.
      for (const [i, run] of runs.entries()) {
        results[i].push(
          await openLoop({
            port: run.child.port,
            rate: Number(process.env.BENCH_OPEN_RATE),
            seconds,
            ...workload(`open-${i}`, run.priced),
          }),
        );
        console.log(`${run.name}: log ${run.child.logFile}`);
      }
    }
    for (let s = 0; s < (process.env.BENCH_OPEN_RATE ? 0 : slices); s++) {
      for (const [i, run] of runs.entries()) {
        results[i].push(
          await closedLoop({ port: run.child.port, connections: 64, seconds: seconds / slices, ...workload(`m${s}-${i}`, run.priced) }),
        );
      }
    }
  } finally {
    for (const c of children) await c.stop();
  }
  for (const [i, { name: m }] of runs.entries()) {
    const r = mergeResults(results[i]);
    const errors = Object.keys(r.httpErrors).length + Object.keys(r.socketErrors).length;
    console.log(
      `${m}: ${Math.round(r.rps)} req/s, p50 ${(r.latencyUs.p50 / 1000).toFixed(1)} ms, p99 ${(r.latencyUs.p99 / 1000).toFixed(1)} ms, errors ${errors ? JSON.stringify([r.httpErrors, r.socketErrors, r.errorSamples]) : 0}`,
    );
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
