import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo, LookupFunction } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { WebhooksConfig } from '@tollgate/config';
import { generateSecret } from '../../domain/webhook-message';
import { guardedLookup, WebhookSender } from './webhook-sender';

type FakeAnswer = { address: string; family: number }[];

/** A resolver answering fixed addresses, as a rebinding DNS server would. */
const answering = (addresses: FakeAnswer) =>
  ((_host: string, _options: unknown, callback: (e: null, a: FakeAnswer) => void) => callback(null, addresses)) as never;

class ResolvingSender extends WebhookSender {
  constructor(config: WebhooksConfig, answer: FakeAnswer) {
    super(config);
    (this as unknown as { lookup: LookupFunction }).lookup = guardedLookup(answering(answer));
  }
}

const config = (over: Partial<WebhooksConfig>) => Object.assign(new WebhooksConfig(), { timeoutMs: 300, ...over });

describe('WebhookSender', () => {
  let server: Server;
  let port: number;
  const seen: { req: IncomingMessage; body: string }[] = [];
  let answer: (res: import('node:http').ServerResponse) => void = (res) => res.writeHead(204).end();

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        seen.push({ req, body });
        answer(res);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  beforeEach(() => {
    seen.length = 0;
    answer = (res) => res.writeHead(204).end();
  });

  it('refuses a private address at delivery time without connecting', async () => {
    const sut = new WebhookSender(config({ allowPrivateUrls: false }));
    const outcome = await sut.send(`http://127.0.0.1:${port}/hook`, 'msg_1', '{}', [generateSecret()]);
    expect(outcome.statusCode).toBeNull();
    expect(outcome.error).toContain('address refused');
    expect(seen).toEqual([]);
  });

  it('refuses a name that resolves to a private address among public ones (DNS rebinding), checking the answer it connects with', async () => {
    const sut = new ResolvingSender(config({ allowPrivateUrls: false }), [
      { address: '93.184.216.34', family: 4 },
      { address: '127.0.0.1', family: 4 },
    ]);
    const outcome = await sut.send(`http://rebind.example:${port}/hook`, 'msg_1', '{}', [generateSecret()]);
    expect(outcome).toMatchObject({ statusCode: null });
    expect(outcome.error).toContain('rebind.example resolves to 127.0.0.1');
    expect(seen).toEqual([]);
    const mapped = new ResolvingSender(config({ allowPrivateUrls: false }), [{ address: '::ffff:169.254.169.254', family: 6 }]);
    expect((await mapped.send(`http://meta.example:${port}/`, 'm', '{}', [generateSecret()])).error).toContain('link-local');
  });

  it('passes public answers through to the connection', (done) => {
    const lookup = guardedLookup(answering([{ address: '93.184.216.34', family: 4 }]));
    lookup('example.com', { all: true }, (error, addresses) => {
      expect(error).toBeNull();
      expect(addresses).toEqual([{ address: '93.184.216.34', family: 4 }]);
      done();
    });
  });

  it('POSTs the body with the Standard Webhooks headers, one signature per secret, each verifying', async () => {
    const sut = new WebhookSender(config({ allowPrivateUrls: true }));
    const secrets = [generateSecret(), generateSecret()];
    const outcome = await sut.send(`http://127.0.0.1:${port}/hook`, 'evt_1', '{"a":1}', secrets);
    expect(outcome).toMatchObject({ statusCode: 204, error: null });
    const [{ req, body }] = seen;
    expect(req.method).toBe('POST');
    expect(body).toBe('{"a":1}');
    expect(req.headers).toMatchObject({ 'content-type': 'application/json', 'user-agent': 'Tollgate-Webhooks/1', 'webhook-id': 'evt_1' });
    expect(String(req.headers['webhook-signature']).split(' ')).toHaveLength(2);
    for (const secret of secrets) expect(new Webhook(secret).verify(body, req.headers as Record<string, string>)).toEqual({ a: 1 });
  });

  it('fails on a redirect (not followed), reads Retry-After of a 429, and times out', async () => {
    const sut = new WebhookSender(config({ allowPrivateUrls: true }));
    answer = (res) => res.writeHead(302, { location: 'http://127.0.0.1:1/' }).end();
    expect((await sut.send(`http://127.0.0.1:${port}/`, 'e', '{}', [generateSecret()])).error).toContain('redirects are not followed');
    expect(seen).toHaveLength(1);
    answer = (res) => res.writeHead(429, { 'retry-after': '7' }).end();
    expect(await sut.send(`http://127.0.0.1:${port}/`, 'e', '{}', [generateSecret()])).toMatchObject({
      statusCode: 429,
      error: 'HTTP 429',
      retryAfterMs: 7000,
    });
    answer = () => undefined;
    const timedOut = await sut.send(`http://127.0.0.1:${port}/`, 'e', '{}', [generateSecret()]);
    expect(timedOut).toMatchObject({ statusCode: null, error: 'timed out after 300 ms' });
    expect(timedOut.durationMs).toBeGreaterThanOrEqual(290);
  });
});
