import 'reflect-metadata';
import { ConfigError, loadConfig } from '@tollgate/config';
import { RegisterPlatformKeyUseCase } from '@tollgate/tenancy';
import { createApp } from './bootstrap';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }

  const app = await createApp(config);
  await app.listen({ port: config.http.port, host: config.http.host });
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : config.http.port;
  const host = config.http.host === '0.0.0.0' ? 'localhost' : config.http.host;

  const lines = [
    `Tollgate listening on http://${host}:${port} (${config.embedded ? 'embedded: PGlite' : 'Postgres'}, ${config.redis.url ? 'Redis' : 'in-process stores'})`,
    `  API docs: http://${host}:${port}/docs`,
  ];
  const generated = app.get(RegisterPlatformKeyUseCase).generatedSecret;
  if (generated) lines.push(`  Platform key (shown once; set TOLLGATE_PLATFORM_KEY to choose your own): ${generated}`);
  process.stdout.write(lines.join('\n') + '\n');
}

main().catch((error) => {
  process.stderr.write(`Tollgate failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
