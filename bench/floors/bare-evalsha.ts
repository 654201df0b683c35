/**
 * Floor 1, the machine's limit: a bare `node:http` server that, per POST, parses the JSON
 * body, makes one EVALSHA of the three-level reserve script and answers 201 JSON. No
 * framework, no validation library, no logging per request.
 *
 * Run by bench/admission.ts as a child process: PORT, REDIS_URL from the environment.
 */
import http from 'node:http';
import { loadReserveScript, redisFromEnv, reserve, ReserveInput } from './reserve-script';

const ID = /^[A-Za-z0-9._:-]{1,128}$/;

function parse(text: string): ReserveInput | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof body !== 'object' || body === null) return undefined;
  const b = body as Record<string, unknown>;
  const idsOk = [b.org_id, b.project_id, b.user_id].every((v) => typeof v === 'string' && ID.test(v));
  if (!idsOk || !Number.isSafeInteger(b.amount) || (b.amount as number) < 1) return undefined;
  if (!Number.isInteger(b.ttl_seconds) || (b.ttl_seconds as number) < 1) return undefined;
  return b as unknown as ReserveInput;
}

function answer(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function main(): Promise<void> {
  const port = Number(process.env.PORT ?? 0);
  const redis = redisFromEnv(process.env.REDIS_URL);
  const sha = await loadReserveScript(redis);

  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/health') return answer(res, 200, { status: 'ok' });
    if (req.method !== 'POST') return answer(res, 404, { code: 'route_not_found' });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const input = parse(Buffer.concat(chunks).toString('utf8'));
      if (!input) return answer(res, 422, { code: 'validation_failed' });
      reserve(redis, sha, input).then(
        (out) => answer(res, out.status, out.body),
        (error: Error) => answer(res, 503, { code: 'store_unavailable', detail: error.message }),
      );
    });
  });
  server.listen(port, '127.0.0.1');

  const stop = () => {
    server.close(() => void redis.quit().finally(() => process.exit(0)));
    // close() waits for keep-alive clients to hang up; the runner's agent is already gone.
    server.closeAllConnections();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error) => {
  process.stderr.write(`bare floor failed: ${(error as Error).stack}\n`);
  process.exit(1);
});
