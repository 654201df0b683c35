/**
 * `npm run bench:export`: the finance export of a large organization (decision 022), outside
 * Jest. Seeds BENCH_EXPORT_ENTRIES (default 200,000) committed entries in SQL into its own
 * database tollgate_bench_export (schema reset every run), boots the service on it (quota store
 * in process: the export never touches Redis), and downloads the month as CSV and as NDJSON over
 * a real socket, reading as fast as it can, while this process's heap and rss are sampled every
 * 5 ms (garbage included) and its live heap after a full GC every 3 s.
 * BENCH_POSTGRES_URL (default postgresql://postgres@localhost:5432).
 */
import 'reflect-metadata';
import { get } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Client } from 'pg';
import { loadConfig } from '@tollgate/config';
import { createApp } from '../apps/tollgate/bootstrap';
import { seedLedgerSql } from '../libs/testing/src/ledger-seed';

const ENTRIES = Number(process.env.BENCH_EXPORT_ENTRIES ?? 200_000);
const POSTGRES_URL = process.env.BENCH_POSTGRES_URL ?? 'postgresql://postgres@localhost:5432';
const DATABASE = 'tollgate_bench_export';
const KEY = 'bench-export-platform-key-0000000000';
const WINDOW = { from: '2026-11-01T00:00:00.000Z', to: '2026-12-01T00:00:00.000Z' };
const MB = 1024 * 1024;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

async function download(port: number, path: string) {
  gc();
  const heap0 = getHeapStatistics().used_heap_size;
  const rss0 = process.memoryUsage.rss();
  let heapPeak = heap0;
  let rssPeak = rss0;
  let livePeak = heap0;
  const sample = setInterval(() => {
    heapPeak = Math.max(heapPeak, getHeapStatistics().used_heap_size);
    rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
  }, 5);
  const live = setInterval(() => {
    gc();
    livePeak = Math.max(livePeak, getHeapStatistics().used_heap_size);
  }, 3_000);
  const started = Date.now();
  const { bytes, tail } = await new Promise<{ bytes: number; tail: string }>((resolve, reject) => {
    get({ host: '127.0.0.1', port, path, headers: { authorization: `Bearer ${KEY}` } }, (res) => {
      let count = 0;
      let last = '';
      res.on('data', (chunk: Buffer) => {
        count += chunk.length;
        last = chunk.subarray(Math.max(0, chunk.length - 400)).toString();
      });
      res.on('end', () => (res.complete ? resolve({ bytes: count, tail: last }) : reject(new Error('download broken'))));
      res.on('error', reject);
    }).on('error', reject);
  });
  const ms = Date.now() - started;
  clearInterval(sample);
  clearInterval(live);
  if (!tail.includes('summary')) throw new Error('no summary at the end of the download');
  return { bytes, ms, heap: heapPeak - heap0, live: livePeak - heap0, rss: rssPeak - rss0 };
}

async function main(): Promise<void> {
  const admin = new Client({ connectionString: `${POSTGRES_URL}/postgres` });
  await admin.connect();
  if ((await admin.query('select 1 from pg_database where datname = $1', [DATABASE])).rowCount === 0)
    await admin.query(`create database ${DATABASE}`);
  await admin.end();
  const url = `${POSTGRES_URL}/${DATABASE}`;
  const db = new Client({ connectionString: url });
  await db.connect();
  await db.query('drop schema if exists public cascade; create schema public');

  const app = await createApp(loadConfig({ DATABASE_URL: url, TOLLGATE_PLATFORM_KEY: KEY, LOG_LEVEL: 'warn' }));
  await app.listen(0, '127.0.0.1');
  const port = (app.getHttpServer().address() as AddressInfo).port;
  try {
    const org = 'bench-export';
    const created = await app.inject({
      method: 'POST',
      url: '/v1/orgs',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ id: org, name: 'Bench export' }),
    });
    if (created.statusCode !== 201) throw new Error(`create org: ${created.statusCode} ${created.body}`);
    const started = Date.now();
    await db.query(seedLedgerSql(org, ENTRIES, WINDOW));
    const seeded = Date.now() - started;

    const rows: string[] = [];
    for (const format of ['csv', 'ndjson']) {
      const r = await download(port, `/v1/orgs/${org}/ledger/export?from=${WINDOW.from}&to=${WINDOW.to}&format=${format}`);
      rows.push(
        `| ${format} | ${(r.bytes / MB).toFixed(1)} | ${(r.ms / 1000).toFixed(1)} | ${Math.round((ENTRIES * 1000) / r.ms)} | ` +
          `${((r.bytes * 1000) / r.ms / MB).toFixed(1)} | ${(r.live / MB).toFixed(1)} | ${(r.heap / MB).toFixed(1)} | ${(r.rss / MB).toFixed(1)} |`,
      );
    }
    console.log(
      [
        `Ledger export, ${ENTRIES} entries (every tenth with two event lines), seeded in ${(seeded / 1000).toFixed(1)} s`,
        `Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? '?'}, load average ${loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')}`,
        '',
        '| format | MB | s | entries/s | MB/s | live heap growth MB | heap peak growth MB | rss peak growth MB |',
        '|---|---|---|---|---|---|---|---|',
        ...rows,
      ].join('\n'),
    );
  } finally {
    await app.close();
    await db.end();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
