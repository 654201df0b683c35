import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { testDatabaseUrl, testRedisUrl } from './test-env';

const ROOT = resolve(__dirname, '..', '..', '..');
const READY_TIMEOUT_MS = 60_000;

export interface Answer {
  status: number;
  body: any;
}

const handedOut = new Set<number>();

/** A port nothing listens on right now, and not handed out before by this process. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await ephemeralPort();
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    return port;
  }
}

function ephemeralPort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

const running = new Set<ServiceProcess>();

// Whatever happens to the test worker, the services it started do not outlive it.
process.once('exit', () => {
  for (const service of running) service.proc.kill('SIGKILL');
});

/**
 * The real service (apps/tollgate/main.ts, as deployed) in a process of its own, on Postgres
 * and Redis, reached over HTTP: for what an in-process app cannot show (several instances, a
 * crash with SIGKILL, a restart).
 */
export class ServiceProcess {
  readonly base: string;
  readonly proc: ChildProcess;
  readonly output: string[] = [];
  readonly exited: Promise<number | null>;

  private constructor(
    readonly name: string,
    port: number,
    private readonly platformKey: string,
    env: Record<string, string>,
  ) {
    this.base = `http://127.0.0.1:${port}`;
    this.proc = spawn(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', 'apps/tollgate/main.ts'],
      {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '/tmp',
          DATABASE_URL: testDatabaseUrl(),
          REDIS_URL: testRedisUrl(),
          TOLLGATE_PLATFORM_KEY: platformKey,
          PORT: String(port),
          HOST: '127.0.0.1',
          LOG_LEVEL: 'warn',
          SHUTDOWN_GRACE_MS: '2000',
          ...env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const keep = (chunk: Buffer) => {
      this.output.push(chunk.toString());
      if (this.output.length > 200) this.output.shift();
    };
    this.proc.stdout!.on('data', keep);
    this.proc.stderr!.on('data', keep);
    this.exited = new Promise<number | null>((done) => this.proc.once('exit', (code) => done(code)));
    running.add(this);
    void this.exited.then(() => running.delete(this));
  }

  /** Starts a service on a free port (`env` adds to or overrides the defaults); does not wait for it. */
  static async start(name: string, platformKey: string, env: Record<string, string> = {}): Promise<ServiceProcess> {
    return new ServiceProcess(name, await freePort(), platformKey, env);
  }

  get gone(): boolean {
    return this.proc.exitCode !== null || this.proc.signalCode !== null;
  }

  /** Resolves once /health/ready answers 200; fails if the process exits first or takes too long. */
  async ready(): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (this.gone) throw new Error(`${this.name} exited before it was ready:\n${this.output.join('')}`);
      try {
        const res = await fetch(`${this.base}/health/ready`, { signal: AbortSignal.timeout(2_000) });
        if (res.status === 200) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`${this.name} not ready within ${READY_TIMEOUT_MS} ms:\n${this.output.join('')}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async call(
    method: string,
    path: string,
    options: { key?: string; body?: unknown; idempotencyKey?: string; timeoutMs?: number } = {},
  ): Promise<Answer> {
    const headers: Record<string, string> = { authorization: `Bearer ${options.key ?? this.platformKey}` };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
    });
    const text = await res.text();
    let body: any = text;
    try {
      body = text.length ? JSON.parse(text) : undefined;
    } catch {
      // not JSON
    }
    return { status: res.status, body };
  }

  /** The call's answer, or an error naming `what` if it is not a 2xx. */
  async ok(method: string, path: string, options: Parameters<ServiceProcess['call']>[2] = {}): Promise<Answer> {
    const res = await this.call(method, path, options);
    if (res.status >= 300) throw new Error(`${this.name} ${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    return res;
  }

  /** SIGTERM (graceful shutdown), then SIGKILL if it has not exited within 10 s. */
  async stop(): Promise<void> {
    if (this.gone) return;
    this.proc.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const stopped = await Promise.race([
      this.exited.then(() => true),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), 10_000))),
    ]);
    clearTimeout(timer);
    if (!stopped) await this.kill();
  }

  /** A crash: SIGKILL, no shutdown hook runs. */
  async kill(): Promise<void> {
    if (this.gone) return;
    this.proc.kill('SIGKILL');
    await this.exited;
  }
}
