import { EntityManager } from '@mikro-orm/postgresql';
import { SchedulerRegistry } from '@nestjs/schedule';
import { LEDGER_CSV_COLUMNS, LEDGER_CSV_TEXT_COLUMNS, microsToCredits } from '@tollgate/reconciliation';
import { createTestApp, ManualClock, parseCsv, TestApp, TestClient, uniqueId } from '@tollgate/testing';

/**
 * The finance export (GET /v1/orgs/{org}/ledger/export) on a small workload, in both modes:
 * every entry of the window and only those, its events exactly as the usage-events API lists
 * them, totals equal to /spend, CSV that parses back exactly (hostile provider names and
 * dimension values included), isolation and validation. The large streaming test (200,000
 * entries, memory measured) is test/ledger-export-large.e2e-spec.ts.
 */

const CARD = {
  name: 'Export',
  rates: [
    { product: 'llm.chat', dimension: 'input_tokens', model: 'flat', unit_price: '0.00001' },
    { product: 'llm.chat', dimension: 'output_tokens', model: 'flat', unit_price: '0.00003' },
    { product: 'video.generate', dimension: 'video_seconds', model: 'flat', unit_price: '0.3' },
  ],
};

const FROM = '2026-11-01T00:00:00.000Z';
const TO = '2026-12-01T00:00:00.000Z';
const WINDOW = `from=${FROM}&to=${TO}`;

/** Values a client chose that a spreadsheet or a naive CSV reader would trip on. */
const HOSTILE_PROVIDER = '=HYPERLINK("http://evil.example","x")';
const HOSTILE_REQUEST_ID = '-2+3,"quoted"\r\nnext line';
const HOSTILE_RESOLUTION = '@SUM(A1:A2),"4k"\n';

const TEXT_COLUMNS = new Set(LEDGER_CSV_TEXT_COLUMNS);

/** The CSV as records keyed by column, with the documented formula guard undone (one leading ' off a text cell). */
function csvRecords(text: string): Record<string, string>[] {
  const rows = parseCsv(text);
  expect(rows[0]).toEqual(LEDGER_CSV_COLUMNS);
  return rows.slice(1).map((row) => {
    expect(row).toHaveLength(LEDGER_CSV_COLUMNS.length);
    return Object.fromEntries(
      LEDGER_CSV_COLUMNS.map((column, i) => [column, TEXT_COLUMNS.has(column) && row[i].startsWith("'") ? row[i].slice(1) : row[i]]),
    );
  });
}

const cell = (value: unknown) => (value === null || value === undefined ? '' : String(value));

describe.each([
  ['Postgres + Redis', false],
  ['embedded', true],
])('ledger export (%s)', (_name, embedded) => {
  let t: TestApp;
  let api: TestClient;
  let cardId: string;
  const clock = new ManualClock(new Date('2026-10-01T00:00:00.000Z'));
  const sql = <T = Record<string, any>>(query: string, params: unknown[] = []) =>
    t.app.get(EntityManager).getConnection().execute<T[]>(query, params);

  beforeAll(async () => {
    t = await createTestApp({ clock, embedded });
    const registry = t.app.get(SchedulerRegistry);
    for (const name of registry.getIntervals()) registry.deleteInterval(name);
    api = t.client;
    const card = await api.post('/v1/rate-cards', CARD);
    expect(card.status).toBe(201);
    cardId = card.body.id;
  }, 120_000);
  afterAll(() => t.close());

  async function fund() {
    clock.set(new Date('2026-10-01T00:00:00.000Z'));
    const org = await api.createOrg(uniqueId('lx'), { rate_card_id: cardId, overage_policy: 'allow' });
    for (const environment of ['live', 'test'] as const) {
      expect((await api.post(`/v1/orgs/${org}/credits`, { amount: 100_000_000, reason: 'top-up' }, { environment })).status).toBe(201);
    }
    const key = (await api.createOrgKey(org, ['admission', 'read'])).secret;
    const testKey = (await api.createOrgKey(org, ['admission', 'read'], 'test')).secret;
    return { org, key, testKey };
  }

  async function commitAt(at: string, key: string, hold: Record<string, unknown>, commit: Record<string, unknown>) {
    clock.set(new Date(at));
    const held = await api.post('/v1/reservations', hold, { key, idempotencyKey: uniqueId('k') });
    expect({ status: held.status, body: held.status === 201 ? null : held.body }).toEqual({ status: 201, body: null });
    const committed = await api.post(`/v1/reservations/${held.body.id}/commit`, commit, { key, idempotencyKey: uniqueId('c') });
    expect({ status: committed.status, body: committed.status === 200 ? null : committed.body }).toEqual({ status: 200, body: null });
    return committed.body;
  }

  /**
   * Six live commits around the November window (one just before `from`, one at `from`, two at
   * the same instant in the middle, one at the last millisecond, one at `to`) and one in test.
   */
  async function workload() {
    const { org, key, testKey } = await fund();
    const raw = (amount: number, project = 'p1', user = 'u1') => ({ org_id: org, project_id: project, user_id: user, amount });
    await commitAt('2026-10-31T23:59:59.999Z', key, raw(100_000), { amount: 100_000 });
    await commitAt(
      FROM,
      key,
      { org_id: org, project_id: 'p1', user_id: 'u1', product: 'llm.chat', usage: { input_tokens: 2_000, output_tokens: 1_000 } },
      { usage: { input_tokens: 1_500, output_tokens: 1_234 }, provider: { name: 'openai', request_id: 'chatcmpl-1' } },
    );
    await commitAt(
      '2026-11-15T12:00:00.000Z',
      key,
      {
        org_id: org,
        project_id: '-p2',
        user_id: 'u:2',
        product: 'video.generate',
        usage: { video_seconds: 8 },
        dimensions: { resolution: HOSTILE_RESOLUTION },
      },
      { usage: { video_seconds: 6.5 }, provider: { name: HOSTILE_PROVIDER, request_id: HOSTILE_REQUEST_ID } },
    );
    await commitAt('2026-11-15T12:00:00.000Z', key, raw(250_000, 'p1', 'u2'), { amount: 200_000 });
    await commitAt('2026-11-30T23:59:59.999Z', key, raw(1), { amount: 1 });
    await commitAt(TO, key, raw(5), { amount: 5 });
    await commitAt('2026-11-10T00:00:00.000Z', testKey, raw(7_000), { amount: 7_000 });
    return { org, key, testKey };
  }

  async function exportOf(org: string, query: string, key?: string) {
    const res = await api.get(`/v1/orgs/${org}/ledger/export?${query}`, key ? { key } : {});
    expect({ status: res.status, body: res.status === 200 ? null : res.body }).toEqual({ status: 200, body: null });
    return res;
  }

  it('exports every entry of the window with its events, as CSV and NDJSON that agree with usage-events, the ledger and /spend', async () => {
    const { org, key } = await workload();
    const csv = await exportOf(org, `${WINDOW}&format=csv`, key);
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(csv.headers['content-disposition']).toBe(`attachment; filename="ledger_${org}_live_20261101T000000Z_20261201T000000Z.csv"`);
    expect(csv.headers['cache-control']).toBe('no-store');
    const records = csvRecords(csv.text);
    const summary = records.pop()!;
    const lines = records;

    // The window's usage events (occurred_at is the commit's instant), as the API lists them.
    const listed = await api.get(`/v1/orgs/${org}/usage-events?${WINDOW}&limit=200`, { key });
    expect(listed.status).toBe(200);
    const events = listed.body.data as any[];
    expect(events).toHaveLength(5); // two chat lines, one video line, two raw amounts
    expect(lines.map((l) => l.record_type)).toEqual(['event', 'event', 'event', 'event', 'event']);
    expect(lines.map((l) => l.event_id).sort()).toEqual(events.map((e) => e.id).sort());

    const ledger = await sql(
      `select id, reservation_id, amount::text, estimate::text, actual::text, variance::text, product, provider, provider_request_id,
              periods, committed_at
         from usage_ledger where org_id = ? and environment = 'live' and committed_at >= ? and committed_at < ?`,
      [org, FROM, TO],
    );
    expect(ledger).toHaveLength(4);
    const ledgerById = new Map(ledger.map((l) => [l.id, l]));
    for (const line of lines) {
      const event = events.find((e) => e.id === line.event_id);
      const entry = ledgerById.get(line.entry_id)!;
      expect(entry).toBeDefined();
      expect(line).toEqual({
        record_type: 'event',
        entry_id: entry.id,
        entry_kind: 'commit',
        reservation_id: event.reservation_id,
        org_id: org,
        environment: 'live',
        project_id: event.project_id,
        user_id: event.user_id,
        committed_at: new Date(entry.committed_at).toISOString(),
        period_day: entry.periods.day,
        period_week: entry.periods.week,
        period_month: entry.periods.month,
        product: cell(entry.product),
        entry_amount_micros: entry.amount,
        entry_amount_credits: microsToCredits(entry.amount),
        entry_estimate_micros: cell(entry.estimate),
        entry_actual_micros: cell(entry.actual),
        entry_variance_micros: cell(entry.variance),
        provider: cell(entry.provider),
        provider_request_id: cell(entry.provider_request_id),
        event_id: event.id,
        event_kind: 'usage',
        line: String(event.line),
        dimension: cell(event.dimension),
        dimensions: JSON.stringify(event.dimensions),
        quantity: event.quantity,
        amount_micros: String(event.amount),
        amount_credits: microsToCredits(event.amount),
        estimate_micros: String(event.estimate),
        actual_micros: String(event.actual),
        variance_micros: String(event.variance),
        rate_card_id: cell(event.rate_card_id),
        rate_id: cell(event.rate_id),
        occurred_at: event.occurred_at,
        recorded_at: event.recorded_at,
        entries: '',
        events: '',
      });
      expect(line.reservation_id).toBe(entry.reservation_id);
    }
    // The hostile values came back exactly, and no cell a spreadsheet reads starts a formula.
    const video = lines.find((l) => l.dimension === 'video_seconds')!;
    expect(video).toMatchObject({ provider: HOSTILE_PROVIDER, provider_request_id: HOSTILE_REQUEST_ID, project_id: '-p2', user_id: 'u:2' });
    expect(JSON.parse(video.dimensions)).toEqual({ resolution: HOSTILE_RESOLUTION });
    expect(video).toMatchObject({ quantity: '6.5', amount_micros: '1950000', amount_credits: '1.950000' });
    // Text cells never start like a formula; number cells are plain (possibly negative) decimals.
    for (const row of parseCsv(csv.text).slice(1)) {
      row.forEach((value, i) =>
        expect(value).toMatch(TEXT_COLUMNS.has(LEDGER_CSV_COLUMNS[i]) ? /^(?![=+\-@\t\r])/ : /^(-?\d+(\.\d+)?)?$/),
      );
    }

    // Order: committed_at, then entry id; an entry's lines together, by line.
    const order = lines.map((l) => [l.committed_at, l.entry_id, Number(l.line)] as const);
    const sorted = [...order].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : a[2] - b[2]));
    expect(order).toEqual(sorted);
    expect(lines[0].committed_at).toBe(FROM);
    expect(lines[lines.length - 1].committed_at).toBe('2026-11-30T23:59:59.999Z');

    // The summary row: counts and totals a reader checks; equal to /spend for the window.
    const spend = await api.get(`/v1/orgs/${org}/spend?${WINDOW}&interval=month`, { key });
    expect(spend.status).toBe(200);
    const total = events.reduce((sum, e) => sum + e.amount, 0);
    expect(spend.body.amount).toBe(total);
    expect(summary).toMatchObject({
      record_type: 'summary',
      org_id: org,
      environment: 'live',
      entry_amount_micros: String(total),
      entry_amount_credits: microsToCredits(total),
      amount_micros: String(total),
      amount_credits: microsToCredits(total),
      entries: '4',
      events: '5',
      entry_id: '',
      event_id: '',
    });

    // NDJSON: the same entries, one per line with their events nested, and the summary line.
    const nd = await exportOf(org, `${WINDOW}&format=ndjson`, key);
    expect(nd.headers['content-type']).toBe('application/x-ndjson');
    expect(nd.headers['content-disposition']).toBe(`attachment; filename="ledger_${org}_live_20261101T000000Z_20261201T000000Z.ndjson"`);
    expect(nd.text.endsWith('\n')).toBe(true);
    const docs = nd.text.trimEnd().split('\n').map((l) => JSON.parse(l));
    const ndSummary = docs.pop();
    expect(ndSummary).toEqual({
      type: 'summary',
      org_id: org,
      environment: 'live',
      from: FROM,
      to: TO,
      entries: 4,
      events: 5,
      amount: total,
      amount_credits: microsToCredits(total),
      events_amount: total,
      events_amount_credits: microsToCredits(total),
    });
    expect(docs.map((d) => d.id)).toEqual([...new Set(lines.map((l) => l.entry_id))]);
    for (const doc of docs) {
      const entry = ledgerById.get(doc.id)!;
      expect(doc).toMatchObject({
        type: 'entry',
        kind: 'commit',
        reservation_id: entry.reservation_id,
        org_id: org,
        environment: 'live',
        committed_at: new Date(entry.committed_at).toISOString(),
        periods: { day: entry.periods.day, week: entry.periods.week, month: entry.periods.month },
        amount: Number(entry.amount),
        amount_credits: microsToCredits(entry.amount),
        provider: entry.provider,
        provider_request_id: entry.provider_request_id,
      });
      const own = events.filter((e) => e.reservation_id === entry.reservation_id).sort((a, b) => a.line - b.line);
      expect(doc.events).toEqual(
        own.map((e) => ({
          id: e.id,
          kind: e.kind,
          line: e.line,
          dimension: e.dimension,
          dimensions: e.dimensions,
          quantity: e.quantity,
          amount: e.amount,
          amount_credits: microsToCredits(e.amount),
          estimate: e.estimate,
          actual: e.actual,
          variance: e.variance,
          rate_card_id: e.rate_card_id,
          rate_id: e.rate_id,
          occurred_at: e.occurred_at,
          recorded_at: e.recorded_at,
        })),
      );
    }
    // The default format is CSV, byte for byte.
    expect((await exportOf(org, WINDOW, key)).text).toBe(csv.text);
  });

  it('shows an organization key only its own organization and environment', async () => {
    const { org, key, testKey } = await workload();
    const other = await fund();
    // Another organization's key, and an unknown organization: the same 404.
    const foreign = await api.get(`/v1/orgs/${org}/ledger/export?${WINDOW}`, { key: other.key });
    expect(foreign.status).toBe(404);
    expect(foreign.body.code).toBe('unknown_org');
    expect(foreign.headers['content-type']).toMatch(/^application\/problem\+json/);
    const unknown = await api.get(`/v1/orgs/${uniqueId('nope')}/ledger/export?${WINDOW}`);
    expect({ status: unknown.status, code: unknown.body.code }).toEqual({ status: 404, code: 'unknown_org' });
    // A key without read, quota:admin or billing:admin.
    const admissionOnly = (await api.createOrgKey(org, ['admission'])).secret;
    expect((await api.get(`/v1/orgs/${org}/ledger/export?${WINDOW}`, { key: admissionOnly })).status).toBe(403);
    // The test environment's key sees the test commit only; the platform key picks with X-Environment.
    const testDocs = (await exportOf(org, `${WINDOW}&format=ndjson`, testKey)).text.trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(testDocs.map((d) => [d.type, d.environment, d.amount])).toEqual([
      ['entry', 'test', 7_000],
      ['summary', 'test', 7_000],
    ]);
    const viaPlatform = await api.get(`/v1/orgs/${org}/ledger/export?${WINDOW}&format=ndjson`, { environment: 'test' });
    expect(viaPlatform.text).toBe(testDocs.map((d) => JSON.stringify(d)).join('\n') + '\n');
    // An organization with nothing in the window: the header and a zero summary.
    const empty = csvRecords((await exportOf(other.org, WINDOW, other.key)).text);
    expect(empty).toEqual([expect.objectContaining({ record_type: 'summary', entries: '0', events: '0', amount_micros: '0' })]);
  });

  it('refuses a window it cannot export with 422 naming the field', async () => {
    const { org, key } = await fund();
    const problem = async (query: string) => {
      const res = await api.get(`/v1/orgs/${org}/ledger/export?${query}`, { key });
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      return { status: res.status, code: res.body.code, fields: (res.body.errors ?? []).map((e: any) => e.field) };
    };
    const invalid = (...fields: string[]) => ({ status: 422, code: 'validation_failed', fields });
    expect(await problem(`to=${TO}`)).toEqual(invalid('from'));
    expect(await problem(`from=${FROM}`)).toEqual(invalid('to'));
    expect(await problem('')).toEqual(invalid('from', 'to'));
    expect(await problem(`from=yesterday&to=${TO}`)).toEqual(invalid('from'));
    expect(await problem(`from=${TO}&to=${FROM}`)).toEqual(invalid('to'));
    expect(await problem(`from=${FROM}&to=${FROM}`)).toEqual(invalid('to'));
    expect(await problem(`from=2025-01-01T00:00:00Z&to=2026-02-06T00:00:00Z`)).toEqual(invalid('to'));
    expect(await problem(`${WINDOW}&format=xlsx`)).toEqual(invalid('format'));
    // 400 days exactly is allowed.
    await exportOf(org, `from=2025-01-01T00:00:00Z&to=2026-02-05T00:00:00Z`, key);
  });
});
