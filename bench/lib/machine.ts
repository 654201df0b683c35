import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import Redis from 'ioredis';
import { REPO_ROOT } from './children';

export interface MachineInfo {
  date: string;
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  redis: string;
  /** 1, 5 and 15 minute load averages before the run: a busy machine makes every figure lower. */
  loadBefore: [number, number, number];
  commit: string;
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

export async function machineInfo(redis: Redis): Promise<MachineInfo> {
  const cpus = os.cpus();
  const server = await redis.info('server');
  const dirty = git(['status', '--porcelain', '--untracked-files=no']) !== '';
  const [l1, l5, l15] = os.loadavg();
  return {
    date: new Date().toISOString(),
    cpuModel: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    redis: /redis_version:(\S+)/.exec(server)?.[1] ?? 'unknown',
    loadBefore: [l1, l5, l15].map((l) => Math.round(l * 100) / 100) as [number, number, number],
    commit: `${git(['rev-parse', '--short', 'HEAD']) || 'unknown'}${dirty ? ' + uncommitted changes' : ''}`,
  };
}

/** CPU seconds Redis has used so far (INFO cpu), to tell how busy it was during a run. */
export async function redisCpuSeconds(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const user = Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1] ?? 0);
  const sys = Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1] ?? 0);
  return user + sys;
}

/**
 * Deletes the service's Redis keys of one organization (under our `bench:` prefix), so the
 * service rebuilds its counters from Postgres on the next request for it.
 */
export async function forgetOrg(redis: Redis, org: string): Promise<number> {
  let deleted = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `bench:*{${org}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}

/** Deletes every key under `bench:` (the floors' and the service's during a run); never FLUSHDB. */
export async function deleteBenchKeys(redis: Redis): Promise<number> {
  let deleted = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', 'bench:*', 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}

export interface SystemCpu {
  /** Ticks (1/100 s) across all cores. */
  busy: number;
  steal: number;
}

/**
 * Machine-wide CPU from /proc/stat: busy = everything but idle and iowait (steal excluded,
 * reported apart: time the hypervisor gave to other guests while this one wanted to run).
 */
export function systemCpu(): SystemCpu {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
    const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
    return { busy: user + nice + system + irq + softirq, steal };
  } catch {
    return { busy: 0, steal: 0 };
  }
}
