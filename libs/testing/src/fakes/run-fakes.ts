/**
 * `npm run fakes`: the fake Flexprice and Metronome on fixed ports, for running Tollgate
 * against them locally (or in docker-compose's `fakes` service). Prints the variables to give
 * Tollgate. FAKES_HOST (default 127.0.0.1; 0.0.0.0 in a container), FAKE_FLEXPRICE_PORT (4010),
 * FAKE_METRONOME_PORT (4020), FAKES_PUBLIC_HOST (the host name Tollgate reaches them by).
 */
import { FAKE_FLEXPRICE_KEYS, FakeFlexprice } from './fake-flexprice';
import { FAKE_METRONOME_TOKENS, FakeMetronome } from './fake-metronome';

async function main(): Promise<void> {
  const host = process.env.FAKES_HOST ?? '127.0.0.1';
  const publicHost = process.env.FAKES_PUBLIC_HOST ?? 'localhost';
  const fpPort = Number(process.env.FAKE_FLEXPRICE_PORT ?? 4010);
  const mnPort = Number(process.env.FAKE_METRONOME_PORT ?? 4020);
  const flexprice = new FakeFlexprice({ host, port: fpPort });
  const metronome = new FakeMetronome({ host, port: mnPort });
  await Promise.all([flexprice.start(), metronome.start()]);
  const fp = `http://${publicHost}:${fpPort}`;
  const mn = `http://${publicHost}:${mnPort}`;
  const lines = [
    `fake Flexprice listening on ${fp} (API base ${fp}/v1)`,
    `fake Metronome listening on ${mn}`,
    '',
    'Run Tollgate against them with:',
    `  FLEXPRICE_BASE_URL=${fp}/v1 FLEXPRICE_API_KEY=${FAKE_FLEXPRICE_KEYS.live} \\`,
    `  FLEXPRICE_BASE_URL_TEST=${fp}/v1 FLEXPRICE_API_KEY_TEST=${FAKE_FLEXPRICE_KEYS.test} \\`,
    `  METRONOME_BASE_URL=${mn} METRONOME_BEARER_TOKEN=${FAKE_METRONOME_TOKENS.live} \\`,
    `  METRONOME_BASE_URL_TEST=${mn} METRONOME_BEARER_TOKEN_TEST=${FAKE_METRONOME_TOKENS.test} \\`,
    '  npm start',
    '',
    'What they received: GET /_fake/totals?customer=<org>@live&environment=live&bucket=day (on either fake)',
    'Make them fail:     POST /_fake/faults {"kind":"status","status":503,"times":5} | {"kind":"status","status":429,"retryAfter":"10"}',
    '                    {"kind":"timeout"} | {"kind":"slow","delayMs":2000} | {"kind":"drop"}; DELETE /_fake/faults clears',
  ];
  process.stdout.write(lines.join('\n') + '\n');
  const stop = () => void Promise.all([flexprice.stop(), metronome.stop()]).then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

void main().catch((error: unknown) => {
  process.stderr.write(`fakes failed to start: ${String(error)}\n`);
  process.exit(1);
});
