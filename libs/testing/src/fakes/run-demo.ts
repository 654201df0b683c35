/**
 * `npm run demo`: the fake Flexprice and Metronome (ports 4010, 4020) and Tollgate (embedded,
 * in memory, PORT or 3000) configured against them, in one process. It creates an
 * organization routed to Flexprice with a Metronome shadow, commits a few reservations, waits
 * for the dispatcher to deliver them, prints the shadow report's verdict, and keeps running
 * so you can explore (Ctrl-C stops everything).
 */
import { createTestApp } from '../create-test-app';
import { FAKE_FLEXPRICE_KEYS, FakeFlexprice } from './fake-flexprice';
import { FAKE_METRONOME_TOKENS, FakeMetronome } from './fake-metronome';

const KEY = 'tg_platform_demo_key_0123456789abcdef';

async function main(): Promise<void> {
  const port = Number(process.env.PORT ?? 3000);
  const flexprice = new FakeFlexprice({ port: Number(process.env.FAKE_FLEXPRICE_PORT ?? 4010) });
  const metronome = new FakeMetronome({ port: Number(process.env.FAKE_METRONOME_PORT ?? 4020) });
  const [fp, mn] = await Promise.all([flexprice.start(), metronome.start()]);
  const t = await createTestApp({
    embedded: true,
    env: {
      TOLLGATE_PLATFORM_KEY: KEY,
      FLEXPRICE_BASE_URL: `${fp}/v1`,
      FLEXPRICE_API_KEY: FAKE_FLEXPRICE_KEYS.live,
      METRONOME_BASE_URL: mn,
      METRONOME_BEARER_TOKEN: FAKE_METRONOME_TOKENS.live,
      BILLING_DISPATCH_INTERVAL_MS: '100',
    },
  });
  await t.app.listen(port, '127.0.0.1');
  const api = t.client;
  const must = async (what: string, res: Promise<{ status: number; body: any; text: string }>) => {
    const r = await res;
    if (r.status >= 300) throw new Error(`${what}: ${r.status} ${r.text}`);
    return r.body;
  };
  const card = await must(
    'rate card',
    api.post('/v1/rate-cards', {
      name: 'Demo',
      rates: [
        { product: 'llm.chat', dimension: 'input_tokens', model: 'flat', unit_price: '0.000002' },
        { product: 'llm.chat', dimension: 'output_tokens', model: 'flat', unit_price: '0.000008' },
      ],
    }),
  );
  await must('organization', api.post('/v1/orgs', { id: 'acme', name: 'Acme', rate_card_id: card.id }));
  await must('credits', api.post('/v1/orgs/acme/credits', { amount: 100_000_000, reason: 'demo' }));
  const routing = await must('routing', api.put('/v1/orgs/acme/billing', { backend: 'flexprice', shadow: 'metronome' }));
  const from = new Date(Date.now() - 60_000).toISOString();
  for (let i = 0; i < 10; i++) {
    const held = await must(
      'reserve',
      api.post(
        '/v1/reservations',
        {
          org_id: 'acme',
          project_id: 'web',
          user_id: `u${i % 3}`,
          product: 'llm.chat',
          usage: { input_tokens: 2_000, output_tokens: 800 },
        },
        { idempotencyKey: `demo-r-${i}` },
      ),
    );
    await must(
      'commit',
      api.post(
        `/v1/reservations/${held.id}/commit`,
        { usage: { input_tokens: 1_500 + i, output_tokens: 700 } },
        { idempotencyKey: `demo-c-${i}` },
      ),
    );
  }
  for (let tries = 0; tries < 100; tries++) {
    const pending = await must('outbox', api.get('/v1/billing/outbox?status=pending'));
    if (pending.data.length === 0 && flexprice.kept.length === 20 && metronome.kept.length === 20) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const to = new Date(Date.now() + 60_000).toISOString();
  const report = await must('shadow report', api.get(`/v1/orgs/acme/billing/shadow-report?from=${from}&to=${to}`));
  const lines = [
    `Tollgate (embedded, in memory) on http://localhost:${port}  ·  docs http://localhost:${port}/docs`,
    `Platform key: ${KEY}`,
    `Fake Flexprice ${fp}/v1 kept ${flexprice.kept.length} events; fake Metronome ${mn} kept ${metronome.kept.length}.`,
    `Organization acme routed: backend ${routing.backend}, shadow ${routing.shadow}; 10 commits, 20 usage events.`,
    `Shadow report: agree = ${report.agree} (${report.differences.length} differences)`,
    '',
    'Try:',
    `  curl -s -H "Authorization: Bearer ${KEY}" "http://localhost:${port}/v1/orgs/acme/billing/shadow-report?from=${from}&to=${to}"`,
    `  curl -s -X PUT -H "Authorization: Bearer ${KEY}" -H 'Content-Type: application/json' \\`,
    `       -d '{"backend":"metronome","shadow":"flexprice"}' http://localhost:${port}/v1/orgs/acme/billing`,
    `  curl -s "${fp}/_fake/totals?customer=acme@live"    curl -s -X POST -d '{"kind":"status","status":503,"times":20}' ${fp}/_fake/faults`,
    `  curl -s -H "Authorization: Bearer ${KEY}" "http://localhost:${port}/v1/billing/outbox?status=failed"`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
  const stop = () => void Promise.all([t.close(), flexprice.stop(), metronome.stop()]).then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  if (process.env.DEMO_EXIT) stop();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
