/**
 * Servers under test run as child processes, so the client (this process) and the server
 * each have their own event loop and their CPU can be told apart (/proc/<pid>/stat).
 */
import { ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { call, LOOPBACK } from './load';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/**
 * Bench TypeScript (the floors, this runner) runs through ts-node's transpile-only hook
 * rather than a separate compile step: no second build output to keep in step, children
 * start in about a second, and once a module is loaded V8 runs the same JavaScript tsc
 * would have emitted (the hook costs at require time). One side effect: ts-node loads
 * `node:domain`, which patches EventEmitter. Checked here, A/B interleaved, 3 × 5 s each:
 * the bare floor used 88–91 µs of server CPU per request under ts-node and 85–95 µs
 * compiled with tsc; the NestJS floor 202–230 µs and 223–261 µs: no difference beyond
 * noise. The real service is not run this way: it runs from `dist/`, as `npm start` does.
 */
export const TS_NODE_ARGS = ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register'];

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, LOOPBACK, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** User + system CPU seconds a process has used so far (Linux /proc; 0 once it is gone). */
export function pidCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/**
 * CPU seconds used so far by every live process whose command is `comm` (e.g. `postgres`: the
 * server and its backends). A backend that exits meanwhile takes its seconds with it, so take
 * this around a run whose connections stay open (the pools do).
 */
export function commandCpuSeconds(comm: string): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === comm) total += pidCpuSeconds(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

export interface ChildSpec {
  name: string;
  args: string[];
  env: Record<string, string>;
  port: number;
  /** GET this path until it answers 200. */
  readyPath: string;
  readyTimeoutMs: number;
}

export class Child {
  private exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private paused = false;

  private constructor(
    readonly name: string,
    readonly port: number,
    readonly logFile: string,
    private readonly proc: ChildProcess,
  ) {
    proc.on('exit', (code, signal) => (this.exited = { code, signal }));
  }

  static async start(spec: ChildSpec): Promise<Child> {
    const logFile = path.join(os.tmpdir(), `tollgate-bench-${spec.name}-${process.pid}.log`);
    const log = createWriteStream(logFile);
    const proc = spawn(process.execPath, spec.args, { cwd: REPO_ROOT, env: spec.env, stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout?.pipe(log);
    proc.stderr?.pipe(log);
    const child = new Child(spec.name, spec.port, logFile, proc);
    await child.waitReady(spec.readyPath, spec.readyTimeoutMs);
    return child;
  }

  /** How the process ended, if it has: `code 1`, `signal SIGKILL`. */
  get exitStatus(): string | undefined {
    if (!this.exited) return undefined;
    return this.exited.signal ? `signal ${this.exited.signal}` : `code ${this.exited.code}`;
  }

  get pid(): number {
    return this.proc.pid ?? 0;
  }

  /** User + system CPU seconds the child has used so far (Linux /proc). */
  cpuSeconds(): number {
    return pidCpuSeconds(this.pid);
  }

  /** SIGSTOP / SIGCONT: a paused child uses no CPU at all (a dispatcher held still between slices). */
  pause(): void {
    this.proc.kill('SIGSTOP');
    this.paused = true;
  }

  resume(): void {
    if (this.paused) this.proc.kill('SIGCONT');
    this.paused = false;
  }

  logTail(lines = 30): string {
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  private async waitReady(readyPath: string, timeoutMs: number): Promise<void> {
    const agent = new http.Agent({ keepAlive: false });
    const until = Date.now() + timeoutMs;
    let last = 'no answer';
    try {
      while (Date.now() < until) {
        if (this.exited)
          throw new Error(`${this.name} exited (${this.exited.code ?? this.exited.signal}) before it was ready:\n${this.logTail()}`);
        try {
          const res = await call(this.port, { method: 'GET', path: readyPath }, agent, 2_000);
          if (res.status === 200) return;
          last = `${res.status} ${res.text.slice(0, 200)}`;
        } catch (error) {
          last = (error as Error).message;
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      agent.destroy();
    }
    await this.stop();
    throw new Error(`${this.name} not ready on port ${this.port} within ${timeoutMs} ms (last: ${last}):\n${this.logTail()}`);
  }

  /** SIGTERM, then SIGKILL after 10 s; this child only, by its pid. */
  async stop(): Promise<void> {
    if (this.exited || this.proc.pid === undefined) return;
    this.resume(); // a stopped process would hold SIGTERM until continued
    const gone = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(timer);
  }
}
