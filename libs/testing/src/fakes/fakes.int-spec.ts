import { FAKE_FLEXPRICE_KEYS, FakeFlexprice } from './fake-flexprice';
import { FAKE_METRONOME_TOKENS, FakeMetronome } from './fake-metronome';

/** The fakes' own rules, over plain HTTP: what the adapters' contract suite relies on them to enforce. */
const DAY = 86_400_000;

async function call(url: string, init: { method?: string; headers?: Record<string, string>; body?: unknown } = {}) {
  const res = await fetch(url, {
    method: init.method ?? 'POST',
    headers: { 'content-type': 'application/json', ...init.headers },
    body: init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

describe('FakeFlexprice', () => {
  const sut = new FakeFlexprice({ bodyLimitBytes: 256 * 1024 });
  let url: string;
  const auth = { 'x-api-key': FAKE_FLEXPRICE_KEYS.live };
  const event = (id: string, timestamp: string) => ({
    event_name: 'tollgate.usage',
    external_customer_id: 'acme@live',
    event_id: id,
    timestamp,
    properties: { amount_micros: '10', quantity: '1' },
  });

  beforeAll(async () => (url = await sut.start()));
  afterAll(() => sut.stop());
  beforeEach(() => sut.reset());

  it('answers 401 without a valid x-api-key, keeping nothing', async () => {
    const res = await call(`${url}/v1/events/bulk`, {
      headers: { 'x-api-key': 'nope' },
      body: { events: [event('e1', '2026-12-01T00:00:00Z')] },
    });

    expect(res.status).toBe(401);
    expect(sut.kept).toEqual([]);
  });

  it('collapses copies only when event_id AND timestamp match', async () => {
    const body = {
      events: [event('e1', '2026-12-01T00:00:00Z'), event('e1', '2026-12-01T00:00:00.000Z'), event('e1', '2026-12-01T00:00:01Z')],
    };

    const res = await call(`${url}/v1/events/bulk`, { headers: auth, body });

    expect(res).toMatchObject({ status: 202, body: { message: 'Events accepted for processing' } });
    expect(sut.totals({ customer: 'acme@live' })).toEqual([expect.objectContaining({ events: 2, amountMicros: 20 })]);
  });

  it('validates bodies against the OpenAPI document: non-string properties, too many events, a body over the cap', async () => {
    const numeric = await call(`${url}/v1/events/bulk`, {
      headers: auth,
      body: { events: [{ ...event('e1', '2026-12-01T00:00:00Z'), properties: { quantity: 1 } }] },
    });
    const tooMany = await call(`${url}/v1/events/bulk`, {
      headers: auth,
      body: { events: Array.from({ length: 1_001 }, (_, i) => event(`e${i}`, '2026-12-01T00:00:00Z')) },
    });

    expect(numeric).toMatchObject({
      status: 400,
      body: { code: 'validation_error', message: expect.stringContaining('/events/0/properties/quantity') },
    });
    const tooLarge = await call(`${url}/v1/events/bulk`, {
      headers: auth,
      body: { events: [{ ...event('e1', '2026-12-01T00:00:00Z'), properties: { note: 'x'.repeat(300 * 1024) } }] },
    });

    expect(tooMany).toMatchObject({ status: 400, body: { code: 'validation_error', message: expect.stringContaining('more than 1000') } });
    expect(tooLarge).toMatchObject({ status: 400, body: { code: 'validation_error', message: 'request body too large' } });
    expect(sut.kept).toEqual([]);
  });

  it('takes faults over its admin endpoint: 429 with Retry-After, then normal again', async () => {
    await call(`${url}/_fake/faults`, { body: { faults: [{ kind: 'status', status: 429, retryAfter: '3', times: 2 }] } });
    const body = { events: [event('e1', '2026-12-01T00:00:00Z')] };

    const answers = [
      await call(`${url}/v1/events/bulk`, { headers: auth, body }),
      await call(`${url}/v1/events/bulk`, { headers: auth, body }),
    ];
    const third = await call(`${url}/v1/events/bulk`, { headers: auth, body });

    expect(answers.map((a) => [a.status, a.headers.get('retry-after')])).toEqual([
      [429, '3'],
      [429, '3'],
    ]);
    expect(third.status).toBe(202);
    const totals = await call(`${url}/_fake/totals?customer=acme@live`, { method: 'GET' });
    expect(totals.body.data).toEqual([expect.objectContaining({ metric: 'tollgate.usage', events: 1 })]);
  });
});

describe('FakeMetronome', () => {
  let now = new Date('2026-12-10T00:00:00.000Z');
  const sut = new FakeMetronome({ now: () => now });
  let url: string;
  const auth = { authorization: `Bearer ${FAKE_METRONOME_TOKENS.live}` };
  const usage = (id: string, timestamp = '2026-12-09T00:00:00Z') => ({
    transaction_id: id,
    customer_id: 'acme@live',
    event_type: 'tollgate.usage',
    timestamp,
    properties: { amount_micros: '10' },
  });

  beforeAll(async () => (url = await sut.start()));
  afterAll(() => sut.stop());
  beforeEach(() => {
    sut.reset();
    now = new Date('2026-12-10T00:00:00.000Z');
  });

  it('takes 1 to 100 events with a bearer token, and refuses timestamps outside 34 days back / 24 hours ahead', async () => {
    expect((await call(`${url}/v1/ingest`, { body: [usage('t1')] })).status).toBe(401);
    expect((await call(`${url}/v1/ingest`, { headers: auth, body: [] })).status).toBe(400);
    expect((await call(`${url}/v1/ingest`, { headers: auth, body: Array.from({ length: 101 }, (_, i) => usage(`t${i}`)) })).status).toBe(
      400,
    );
    expect((await call(`${url}/v1/ingest`, { headers: auth, body: [usage('old', '2026-11-01T00:00:00Z')] })).status).toBe(400);
    expect((await call(`${url}/v1/ingest`, { headers: auth, body: [usage('ahead', '2026-12-11T00:00:01Z')] })).status).toBe(400);
    expect(sut.kept).toEqual([]);
  });

  it('dedups transaction_id for 34 days, then counts it again', async () => {
    await call(`${url}/v1/ingest`, { headers: auth, body: [usage('t1'), usage('t1')] });
    now = new Date(now.getTime() + 33 * DAY);
    await call(`${url}/v1/ingest`, { headers: auth, body: [usage('t1', now.toISOString())] });
    expect(sut.kept).toHaveLength(1);

    now = new Date(now.getTime() + 2 * DAY);
    await call(`${url}/v1/ingest`, { headers: auth, body: [usage('t1', now.toISOString())] });

    expect(sut.kept).toHaveLength(2);
  });

  it('keeps nothing of a dropped call, though it answered 200: a resend is kept', async () => {
    sut.fail({ kind: 'drop' });

    expect((await call(`${url}/v1/ingest`, { headers: auth, body: [usage('t1')] })).status).toBe(200);
    expect(sut.kept).toEqual([]);
    await call(`${url}/v1/ingest`, { headers: auth, body: [usage('t1')] });
    expect(sut.kept).toHaveLength(1);
  });
});
