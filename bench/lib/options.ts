/** The benchmark's knobs, read from the environment in this one place. */
export interface BenchOptions {
  /** Measured seconds per run. */
  seconds: number;
  /** Discarded seconds of the same workload before each measured run. */
  warmupSeconds: number;
  quick: boolean;
  floorsOnly: boolean;
  /** Closed-loop connections (floors, saturation, hot vs spread). */
  connections: number;
  /** Open-loop offered rate, requests/s. */
  openRate: number;
  spreadOrgs: number;
  smallUsers: number;
  largeUsers: number;
  redisUrl: string;
  /** The service's entry point; another build can be measured with BENCH_SERVICE_MAIN. */
  serviceMain: string | undefined;
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 1): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min) throw new Error(`${name} must be an integer ≥ ${min} (got ${JSON.stringify(raw)})`);
  return Number(raw);
}

export function readOptions(env: NodeJS.ProcessEnv, argv: string[]): BenchOptions {
  const quick = env.BENCH_QUICK === '1';
  const seconds = int(env, 'BENCH_SECONDS', quick ? 3 : 20);
  return {
    seconds,
    warmupSeconds: int(env, 'BENCH_WARMUP_SECONDS', 3, 0),
    quick,
    floorsOnly: argv.includes('--floors'),
    connections: int(env, 'BENCH_CONNECTIONS', 64),
    openRate: int(env, 'BENCH_OPEN_RATE', 1_000),
    spreadOrgs: int(env, 'BENCH_SPREAD_ORGS', 10_000),
    smallUsers: int(env, 'BENCH_USERS_SMALL', 1_000),
    // A smoke run should not spend ten minutes creating a million users; the table says how many it used.
    largeUsers: int(env, 'BENCH_USERS_LARGE', quick ? 20_000 : 1_000_000),
    redisUrl: env.BENCH_REDIS_URL ?? 'redis://localhost:6379',
    serviceMain: env.BENCH_SERVICE_MAIN || undefined,
  };
}
