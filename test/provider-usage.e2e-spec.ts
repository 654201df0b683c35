import { EntityManager } from '@mikro-orm/postgresql';
import { createTestApp, TestApp, TestClient, uniqueId, ledgerInvariantProblems, STORE_MODES } from '@tollgate/testing';

/** Video per second (one line); chat per input and output token (two lines). */
const CARD = {
  name: 'Provider usage',
  rates: [
    { product: 'video.generate', dimension: 'video_seconds', model: 'flat', unit_price: '0.3' },
    { product: 'llm.chat', dimension: 'input_tokens', model: 'flat', unit_price: '0.00001' },
    { product: 'llm.chat', dimension: 'output_tokens', model: 'flat', unit_price: '0.00003' },
    {
      product: 'image.generate',
      dimension: 'images',
      model: 'graduated',
      tier_scope: 'period',
      tiers: [
        { up_to: 100, unit_price: '0.01' },
        { up_to: null, unit_price: '0.005' },
      ],
    },
  ],
};

const OCCURRED = '2026-12-01T10:00:00Z';

describe.each(STORE_MODES)('provider usage import ($name)', (mode) => {
  let t: TestApp;
  let api: TestClient;
  let cardId: string;
  const orgs: string[] = [];
  const sql = <T = Record<string, any>>(query: string, params: unknown[] = []) =>
    t.app.get(EntityManager).getConnection().execute<T[]>(query, params);

  beforeAll(async () => {
    t = await createTestApp({ embedded: mode.embedded });
    api = t.client;
    const card = await api.post('/v1/rate-cards', CARD);
    expect(card.status).toBe(201);
    cardId = card.body.id;
  }, 120_000);

  afterAll(async () => {
    // The invariant, per organization this suite made: ledger = usage events = the tree's committed; one outbox row per event.
    try {
      for (const org of orgs) await expectLedgerInvariant(org);
    } finally {
      await t.close();
    }
  });

  async function fund(extra: Record<string, unknown> = {}) {
    const org = await api.createOrg(uniqueId('pu'), { rate_card_id: cardId, overage_policy: 'allow', ...extra });
    orgs.push(org);
    await api.post(`/v1/orgs/${org}/credits`, { amount: 100_000_000, reason: 'top-up' });
    const key = (await api.createOrgKey(org, ['admission', 'read', 'quota:admin'])).secret;
    return { org, key };
  }

  /** A video hold of `held` seconds committed at `used` seconds, naming the provider request. */
  async function commitVideo(key: string, org: string, held: number, used: number, requestId: string | null, provider = 'runway') {
    const hold = await api.post(
      '/v1/reservations',
      { org_id: org, project_id: 'p', user_id: 'u', product: 'video.generate', usage: { video_seconds: held } },
      { key, idempotencyKey: uniqueId('k') },
    );
    expect(hold.status).toBe(201);
    const committed = await api.post(
      `/v1/reservations/${hold.body.id}/commit`,
      { usage: { video_seconds: used }, ...(requestId ? { provider: { name: provider, request_id: requestId } } : {}) },
      { key, idempotencyKey: uniqueId('c') },
    );
    expect(committed.status).toBe(200);
    return hold.body.id as string;
  }

  const video = (requestId: string, seconds: number | string, provider = 'runway') => ({
    provider,
    request_id: requestId,
    usage: { video_seconds: seconds },
    occurred_at: OCCURRED,
  });

  async function importJson(records: unknown[], key?: string, query = '') {
    return api.post(`/v1/reconciliation/provider-usage${query}`, { records }, key ? { key } : {});
  }

  async function tree(org: string) {
    const res = await api.get(`/v1/orgs/${org}/usage`);
    expect(res.status).toBe(200);
    return res.body;
  }

  async function spend(org: string): Promise<number> {
    const from = new Date(Date.now() - 86_400_000).toISOString();
    const to = new Date(Date.now() + 86_400_000).toISOString();
    const res = await api.get(`/v1/orgs/${org}/spend?from=${from}&to=${to}`);
    expect(res.status).toBe(200);
    return res.body.amount;
  }

  async function figures(org: string) {
    const body = await tree(org);
    return { committed: body.org.committed, available: body.org.available, project: body.projects[0].committed, spend: await spend(org) };
  }

  async function expectLedgerInvariant(org: string) {
    const tree = (await api.get(`/v1/orgs/${org}/usage`)).body;
    expect({ org, problems: await ledgerInvariantProblems(sql, { orgId: org, environment: 'live' }, tree) }).toEqual({ org, problems: [] });
    const [e] = await sql<{ n: string }>(`select count(*) as n from usage_events where org_id = ? and environment = 'live'`, [org]);
    // One outbox row per event, pending until the dispatcher routes it (decision 025).
    const [o] = await sql<{ n: string }>(
      `select count(*) as n from usage_outbox x join usage_events v on v.id = x.event_id where v.org_id = ? and x.destination = 'default' and x.status in ('pending', 'routed')`,
      [org],
    );
    expect(Number(o.n)).toBe(Number(e.n));
  }

  it('leaves an equal record alone and adjusts higher and lower ones by exactly the delta, with correction events and outbox rows', async () => {
    const { org, key } = await fund();
    const equal = await commitVideo(key, org, 10, 8, 'r-eq');
    const higher = await commitVideo(key, org, 10, 8, 'r-hi');
    const lower = await commitVideo(key, org, 10, 8, 'r-lo');
    const before = await figures(org);
    expect(before).toMatchObject({ committed: 3 * 2_400_000, project: 3 * 2_400_000, spend: 3 * 2_400_000 });

    const res = await importJson([video('r-eq', 8), video('r-hi', 9), video('r-lo', '6.5')], key);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      id: expect.stringMatching(/^run_/),
      environment: 'live',
      org_id: org,
      source: 'json',
      orgs: [org],
      summary: { records: 3, matched: 1, adjusted: 2, duplicates: 0, unmatched_records: 0, invalid: 0, adjusted_amount: 300_000 - 450_000 },
    });
    const [eq, hi, lo] = res.body.items;
    expect(eq).toMatchObject({
      index: 0,
      status: 'matched',
      reservation_id: equal,
      charged_before: 2_400_000,
      charged_after: 2_400_000,
      delta: 0,
    });
    // 9 s × 0.3 = 2.7 credits; 6.5 s = 1.95 credits.
    expect(hi).toMatchObject({ index: 1, status: 'adjusted', reservation_id: higher, charged_before: 2_400_000, charged_after: 2_700_000 });
    expect(hi.delta).toBe(300_000);
    expect(lo).toMatchObject({ index: 2, status: 'adjusted', reservation_id: lower, delta: -450_000, charged_after: 1_950_000 });

    const after = await figures(org);
    expect(after.committed - before.committed).toBe(-150_000);
    expect(after.project - before.project).toBe(-150_000);
    expect(after.available - before.available).toBe(150_000);
    expect(after.spend - before.spend).toBe(-150_000);

    // The correcting events: kind correction, signed amount and quantity, listed with the others, one pending outbox row each.
    const events = (await api.get(`/v1/orgs/${org}/usage-events?limit=200`, { key })).body.data as any[];
    const corrections = events.filter((e) => e.kind === 'correction');
    expect(corrections.map((e) => e.id).sort()).toEqual([...hi.event_ids, ...lo.event_ids].sort());
    expect(corrections.find((e) => e.reservation_id === higher)).toMatchObject({
      dimension: 'video_seconds',
      quantity: '1',
      amount: 300_000,
      provider: 'runway',
      provider_request_id: 'r-hi',
    });
    expect(corrections.find((e) => e.reservation_id === lower)).toMatchObject({ quantity: '-1.5', amount: -450_000 });
    // One outbox row each, pending until the dispatcher routes it (decision 025).
    const outbox = await sql(`select event_id, status from usage_outbox where destination = 'default' and event_id in (?, ?)`, [
      hi.event_ids[0],
      lo.event_ids[0],
    ]);
    expect(outbox.map((o) => ['pending', 'routed'].includes(o.status))).toEqual([true, true]);
    const ledger = await sql(`select id, kind, amount, reason from usage_ledger where reservation_id = ? order by seq`, [higher]);
    expect(ledger.map((r) => [r.kind, Number(r.amount)])).toEqual([
      ['commit', 2_400_000],
      ['adjustment', 300_000],
    ]);
    expect(ledger[1].id).toBe(hi.ledger_entry_id);
    expect(ledger[1].reason).toContain(res.body.id);
    // The finance export pairs each entry with the events written with it: the commit with its usage event, the adjustment with its correction.
    const day = 86_400_000;
    const window = `from=${new Date(Date.now() - day).toISOString()}&to=${new Date(Date.now() + day).toISOString()}`;
    const exported = await api.get(`/v1/orgs/${org}/ledger/export?${window}&format=ndjson`, { key });
    expect(exported.status).toBe(200);
    const lines = exported.text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    const entriesOf = (reservation: string) =>
      lines
        .filter((line) => line.type === 'entry' && line.reservation_id === reservation)
        .map((e) => ({ kind: e.kind, amount: e.amount, events: e.events.map((x: any) => [x.kind, x.amount]) }));
    expect(entriesOf(higher)).toEqual([
      { kind: 'commit', amount: 2_400_000, events: [['usage', 2_400_000]] },
      { kind: 'adjustment', amount: 300_000, events: [['correction', 300_000]] },
    ]);
    expect(entriesOf(lower)[1]).toEqual({ kind: 'adjustment', amount: -450_000, events: [['correction', -450_000]] });
    expect(lines[lines.length - 1]).toMatchObject({
      type: 'summary',
      entries: 5,
      events: 5,
      amount: after.committed,
      events_amount: after.committed,
    });
    // The variance report counts commits only.
    const variance = (await api.get(`/v1/orgs/${org}/variance`)).body.data[0];
    expect(variance).toMatchObject({ count: 3, actual: 3 * 2_400_000 });

    // The run reads back as answered, and is listed.
    const read = await api.get(`/v1/reconciliation/runs/${res.body.id}`, { key });
    expect(read.status).toBe(200);
    expect(read.body).toEqual(res.body);
    const listed = await api.get(`/v1/reconciliation/runs?limit=5`, { key });
    expect(listed.body.data[0]).toMatchObject({ id: res.body.id, summary: res.body.summary });
    expect(listed.body.data[0].items).toBeUndefined();
  });

  it('has no second effect on re-import (also concurrent), and adjusts a revised record to its new figure', async () => {
    const { org, key } = await fund();
    const id = await commitVideo(key, org, 10, 8, 'r-1');
    expect((await importJson([video('r-1', 9)], key)).body.items[0]).toMatchObject({ status: 'adjusted', delta: 300_000 });
    const once = await figures(org);

    const again = await importJson([video('r-1', '9.0')], key);
    expect(again.body.items[0]).toMatchObject({ status: 'duplicate', delta: null });
    expect(again.body.summary).toMatchObject({ duplicates: 1, adjusted: 0, adjusted_amount: 0 });
    // Ten imports of a revision at once: one adjusts, the others find it charged already.
    const racing = await Promise.all(Array.from({ length: 10 }, () => importJson([video('r-1', 11)], key)));
    expect(racing.map((r) => r.status)).toEqual(Array(10).fill(201));
    const statuses = racing.map((r) => r.body.items[0].status).sort();
    expect(statuses.filter((s) => s === 'adjusted')).toHaveLength(1);
    expect(statuses.every((s) => ['adjusted', 'matched', 'duplicate'].includes(s))).toBe(true);
    const adjusted = racing.map((r) => r.body.items[0]).find((i) => i.status === 'adjusted');
    expect(adjusted).toMatchObject({ charged_before: 2_700_000, charged_after: 3_300_000, delta: 600_000, revised: true });
    expect((await figures(org)).committed - once.committed).toBe(600_000);
    const rows = await sql(`select kind, amount from usage_ledger where reservation_id = ? order by seq`, [id]);
    expect(rows.map((r) => Number(r.amount))).toEqual([2_400_000, 300_000, 600_000]);

    // A revision back down goes to the new figure, not by the difference between reports.
    const down = await importJson([video('r-1', 7)], key);
    expect(down.body.items[0]).toMatchObject({
      status: 'adjusted',
      charged_before: 3_300_000,
      charged_after: 2_100_000,
      delta: -1_200_000,
    });
    expect((await figures(org)).committed - once.committed).toBe(600_000 - 1_200_000);

    // Idempotency-Key: the same request replays its run; another body with the key is refused.
    const idem = uniqueId('imp');
    const first = await api.post('/v1/reconciliation/provider-usage', { records: [video('r-1', 6)] }, { key, idempotencyKey: idem });
    const replay = await api.post('/v1/reconciliation/provider-usage', { records: [video('r-1', 6)] }, { key, idempotencyKey: idem });
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toEqual(first.body);
    const reused = await api.post('/v1/reconciliation/provider-usage', { records: [video('r-1', 5)] }, { key, idempotencyKey: idem });
    expect({ status: reused.status, code: reused.body.code }).toEqual({ status: 409, code: 'idempotency_key_reused' });
    expect(await sql(`select count(*)::int as n from usage_ledger where reservation_id = ?`, [id])).toEqual([{ n: 5 }]);
  });

  it('charges an adjustment within the overage policy: cap_at_hold never bills above the hold', async () => {
    const { org, key } = await fund({ overage_policy: 'cap_at_hold' });
    await commitVideo(key, org, 10, 8, 'cap-1');
    const res = await importJson([video('cap-1', 12)], key);
    // 12 s = 3.6 credits, capped at the 3-credit hold: +0.6 credits over the 2.4 committed.
    expect(res.body.items[0]).toMatchObject({ status: 'adjusted', charged_after: 3_000_000, delta: 600_000 });
    const events = (await api.get(`/v1/orgs/${org}/usage-events`)).body.data as any[];
    expect(events.find((e) => e.kind === 'correction')).toMatchObject({ amount: 600_000, quantity: '4' });
  });

  it('reports unmatched records and old enough commits of the same providers with no record, bounded by age', async () => {
    const { org, key } = await fund();
    const unreported = await commitVideo(key, org, 10, 8, 'never-reported');
    await commitVideo(key, org, 10, 8, null); // no provider request id: never listed
    await commitVideo(key, org, 10, 8, 'other-provider', 'openai'); // another provider: not this import's business
    await commitVideo(key, org, 10, 8, 'reported');
    const res = await importJson([video('reported', 8), video('no-such-request', 3)], key, '?unmatched_commit_age=0');
    expect(res.status).toBe(201);
    expect(res.body.items.map((i: any) => i.status)).toEqual(['matched', 'unmatched']);
    expect(res.body.summary).toMatchObject({ matched: 1, unmatched_records: 1, unmatched_commits: 1, unmatched_commits_truncated: false });
    expect(res.body.unmatched_commits).toEqual([
      {
        org_id: org,
        reservation_id: unreported,
        provider: 'runway',
        provider_request_id: 'never-reported',
        amount: 2_400_000,
        committed_at: expect.any(String),
      },
    ]);
    // With the default age (a day) these fresh commits are not due yet.
    const fresh = await importJson([video('reported', 8)], key);
    expect(fresh.body.summary).toMatchObject({ duplicates: 1, unmatched_commits: 0 });
    expect((await importJson([], key, '?unmatched_commit_age=-1')).status).toBe(422);
  });

  it('reports bad records by index or line and field, and still counts the rest; refuses malformed or oversized bodies whole', async () => {
    const { org, key } = await fund();
    await commitVideo(key, org, 10, 8, 'ok-1');
    await commitVideo(key, org, 10, 8, 'ok-2');
    const res = await importJson(
      [
        { provider: 'runway', usage: { video_seconds: 9 }, occurred_at: OCCURRED },
        video('ok-1', 9),
        { ...video('x', -1), occurred_at: 'yesterday', colour: 'red' },
        'not a record',
        video('ok-1', 10),
      ],
      key,
    );
    expect(res.status).toBe(201);
    expect(res.body.summary).toMatchObject({ records: 5, adjusted: 1, invalid: 4, adjusted_amount: 300_000 });
    const [missing, ok, bad, notObject, conflicting] = res.body.items;
    expect(missing).toMatchObject({
      index: 0,
      status: 'invalid',
      errors: [{ field: 'records[0].request_id', message: expect.any(String) }],
    });
    expect(ok).toMatchObject({ index: 1, status: 'adjusted' });
    expect(bad.errors.map((e: any) => e.field).sort()).toEqual([
      'records[2].colour',
      'records[2].occurred_at',
      'records[2].usage.video_seconds',
    ]);
    expect(notObject.errors).toEqual([{ field: 'records[3]', message: 'must be an object' }]);
    expect(conflicting.errors).toEqual([{ field: 'records[4].request_id', message: 'reported at 1 of this import with other usage' }]);

    // CSV: quoting (a comma and a quote inside a request id), dimensions columns, empty cells, a bad line by line and column.
    const csvReq = await commitVideo(key, org, 10, 8, 'id,with "quotes"');
    const csv = [
      'provider,request_id,occurred_at,usage.video_seconds,dimensions.note',
      `runway,"id,with ""quotes""",${OCCURRED},9.5,`,
      `runway,ok-2,not-a-date,8,`,
      `runway,only-three,${OCCURRED}`,
      `runway,ok-2,${OCCURRED},8,"a, b"`,
      '',
    ].join('\n');
    const fromCsv = await api.request('POST', '/v1/reconciliation/provider-usage', {
      key,
      raw: csv,
      headers: { 'content-type': 'text/csv' },
    });
    expect(fromCsv.status).toBe(201);
    expect(fromCsv.body.source).toBe('csv');
    expect(fromCsv.body.items).toEqual([
      expect.objectContaining({ line: 2, status: 'adjusted', reservation_id: csvReq, request_id: 'id,with "quotes"', delta: 450_000 }),
      expect.objectContaining({ line: 3, status: 'invalid', errors: [{ field: 'occurred_at', message: expect.any(String) }] }),
      expect.objectContaining({ line: 4, status: 'invalid', errors: [{ field: 'row', message: 'has 3 cells; the header has 5' }] }),
      expect.objectContaining({ line: 5, status: 'matched', request_id: 'ok-2' }),
    ]);

    const problem = async (res: { status: number; body: any }) => ({ status: res.status, code: res.body.code });
    expect(await problem(await api.post('/v1/reconciliation/provider-usage', [video('a', 1)], { key }))).toEqual({
      status: 422,
      code: 'validation_failed',
    });
    expect(await problem(await api.post('/v1/reconciliation/provider-usage', { records: 'all' }, { key }))).toEqual({
      status: 422,
      code: 'validation_failed',
    });
    expect(await problem(await api.request('POST', '/v1/reconciliation/provider-usage', { key, raw: '{"records": [' }))).toEqual({
      status: 400,
      code: 'invalid_json',
    });
    const unclosed = await api.request('POST', '/v1/reconciliation/provider-usage', {
      key,
      raw: 'provider,request_id,occurred_at,usage.x\nrunway,"open,2026-12-01T00:00:00Z,1\n',
      headers: { 'content-type': 'text/csv' },
    });
    expect(await problem(unclosed)).toEqual({ status: 400, code: 'invalid_csv' });
    const badHeader = await api.request('POST', '/v1/reconciliation/provider-usage', {
      key,
      raw: 'provider,request,usage.x\n',
      headers: { 'content-type': 'text/csv' },
    });
    expect(await problem(badHeader)).toEqual({ status: 400, code: 'invalid_csv' });
    const tooMany = await importJson(
      Array.from({ length: 10_001 }, (_, i) => video(`n-${i}`, 1)),
      key,
    );
    expect(await problem(tooMany)).toEqual({ status: 413, code: 'too_many_records' });
    const manyCsv = [
      'provider,request_id,occurred_at,usage.video_seconds',
      ...Array.from({ length: 10_001 }, (_, i) => `runway,n-${i},${OCCURRED},1`),
    ];
    expect(
      await problem(
        await api.request('POST', '/v1/reconciliation/provider-usage', {
          key,
          raw: manyCsv.join('\n'),
          headers: { 'content-type': 'text/csv' },
        }),
      ),
    ).toEqual({ status: 413, code: 'too_many_records' });
    expect(
      await problem(
        await api.request('POST', '/v1/reconciliation/provider-usage', { key, raw: 'x', headers: { 'content-type': 'text/plain' } }),
      ),
    ).toEqual({ status: 415, code: 'unsupported_media_type' });
    // text/csv stays 415 on every other route.
    expect(
      await problem(await api.request('POST', `/v1/orgs/${org}/credits`, { raw: 'amount\n5', headers: { 'content-type': 'text/csv' } })),
    ).toEqual({ status: 415, code: 'unsupported_media_type' });
    // Nothing of the refused bodies was imported.
    expect(await sql(`select count(*)::int as n from provider_usage_records where request_id like 'n-%' and importer = ?`, [org])).toEqual([
      { n: 0 },
    ]);
  });

  it('imports 10,000 records in one batch', async () => {
    const { org, key } = await fund();
    await commitVideo(key, org, 10, 8, 'big-0');
    const records = Array.from({ length: 10_000 }, (_, i) => video(`big-${i}`, i === 0 ? 9 : 1));
    // Over the service-wide 1 MiB body limit: the route's own bound applies.
    expect(JSON.stringify({ records }).length).toBeGreaterThan(1024 * 1024);
    const started = Date.now();
    const res = await importJson(records, key);
    const ms = Date.now() - started;
    expect(res.status).toBe(201);
    expect(res.body.summary).toMatchObject({ records: 10_000, adjusted: 1, unmatched_records: 9_999 });
    console.log(`[${mode.name}] 10,000-record import: ${ms} ms`);
  }, 120_000);

  it('keeps organizations apart: an org key matches only its own commits and sees only its own runs; a platform run records the orgs it touched', async () => {
    const a = await fund();
    const b = await fund();
    await commitVideo(a.key, a.org, 10, 8, 'shared-a');
    const bReservation = await commitVideo(b.key, b.org, 10, 8, 'only-b');
    const bBefore = await figures(b.org);

    const fromA = await importJson([video('only-b', 9), video('shared-a', 8)], a.key);
    expect(fromA.body.items.map((i: any) => [i.status, i.reservation_id, i.org_id])).toEqual([
      ['unmatched', null, null],
      ['matched', expect.any(String), a.org],
    ]);
    expect(JSON.stringify(fromA.body)).not.toContain(b.org);
    expect(await figures(b.org)).toEqual(bBefore);

    const platform = await importJson([video('only-b', 9), video('shared-a', 9)]);
    expect(platform.body).toMatchObject({ org_id: null, orgs: [a.org, b.org].sort(), summary: { adjusted: 2 } });
    expect(platform.body.items[0]).toMatchObject({ status: 'adjusted', org_id: b.org, reservation_id: bReservation, delta: 300_000 });
    expect((await figures(b.org)).committed - bBefore.committed).toBe(300_000);

    // An org key sees neither the platform's run nor another org's; the platform key sees them all.
    const fromB = await importJson([video('only-b', 9)], b.key);
    expect(fromB.body.items[0].status).toBe('matched');
    for (const id of [platform.body.id, fromB.body.id]) {
      const res = await api.get(`/v1/reconciliation/runs/${id}`, { key: a.key });
      expect({ status: res.status, code: res.body.code }).toEqual({ status: 404, code: 'run_not_found' });
    }
    const aRuns = (await api.get(`/v1/reconciliation/runs?limit=200`, { key: a.key })).body.data.map((r: any) => r.id);
    expect(aRuns).toEqual([fromA.body.id]);
    expect((await api.get(`/v1/reconciliation/runs/${fromB.body.id}`)).status).toBe(200);
    // Another environment sees none of them.
    expect((await api.get(`/v1/reconciliation/runs/${platform.body.id}`, { environment: 'test' })).status).toBe(404);
    // Importing takes quota:admin.
    const reader = (await api.createOrgKey(a.org, ['read'])).secret;
    expect((await importJson([video('shared-a', 8)], reader)).status).toBe(403);
  });

  it('adjusts nothing when the adjustment cannot be written (failed, retried by a re-import), and refuses holds it cannot price', async () => {
    const { org, key } = await fund();
    const id = await commitVideo(key, org, 10, 8, 'fail-1');
    const before = await tree(org);
    const fn = `pg_fail_${org.replace(/-/g, '_')}`;
    await sql(`create or replace function ${fn}() returns trigger language plpgsql as $$
      begin if new.org_id = '${org}' and new.kind = 'correction' then raise exception 'injected failure'; end if; return new; end $$`);
    await sql(`create trigger ${fn} before insert on usage_events for each row execute function ${fn}()`);
    try {
      const failed = await importJson([video('fail-1', 9)], key);
      expect(failed.status).toBe(201);
      expect(failed.body.items[0]).toMatchObject({ status: 'failed', reservation_id: id, delta: null });
      // The store had moved: it was dropped and is rebuilt from Postgres, where nothing changed.
      expect(await tree(org)).toEqual(before);
      expect(await sql(`select count(*)::int as n from usage_ledger where reservation_id = ?`, [id])).toEqual([{ n: 1 }]);
    } finally {
      await sql(`drop trigger ${fn} on usage_events`);
    }
    const retried = await importJson([video('fail-1', 9)], key);
    expect(retried.body.items[0]).toMatchObject({ status: 'adjusted', delta: 300_000 });
    expect((await tree(org)).org.committed - before.org.committed).toBe(300_000);

    // A raw-amount hold, and a hold priced by a period-tiered rate: reported, nothing written.
    const raw = await api.post(
      '/v1/reservations',
      { org_id: org, project_id: 'p', user_id: 'u', amount: 1_000 },
      { key, idempotencyKey: uniqueId('k') },
    );
    await api.post(
      `/v1/reservations/${raw.body.id}/commit`,
      { amount: 500, provider: { name: 'runway', request_id: 'raw-1' } },
      { key, idempotencyKey: uniqueId('c') },
    );
    const images = await api.post(
      '/v1/reservations',
      { org_id: org, project_id: 'p', user_id: 'u', product: 'image.generate', usage: { images: 4 } },
      { key, idempotencyKey: uniqueId('k') },
    );
    expect(images.status).toBe(201);
    await api.post(
      `/v1/reservations/${images.body.id}/commit`,
      { usage: { images: 4 }, provider: { name: 'runway', request_id: 'img-1' } },
      { key, idempotencyKey: uniqueId('c') },
    );
    const unadjustable = await importJson(
      [video('raw-1', 1), { provider: 'runway', request_id: 'img-1', usage: { images: 5 }, occurred_at: OCCURRED }, video('fail-1', 9)],
      key,
    );
    expect(unadjustable.body.items.map((i: any) => i.status)).toEqual(['unadjustable', 'unadjustable', 'duplicate']);
    expect(unadjustable.body.items[1].errors).toEqual([{ field: 'usage', message: expect.stringContaining('period') }]);
  });

  it('a store rebuilt after adjustments shows the same tree (the rebuild reads adjustments from the ledger)', async () => {
    const { org, key } = await fund();
    await commitVideo(key, org, 10, 8, 'rb-1');
    await commitVideo(key, org, 10, 8, 'rb-2');
    await importJson([video('rb-1', 10), video('rb-2', 2)], key);
    const before = await tree(org);
    await mode.loseStore(t, org);
    expect(await tree(org)).toEqual(before);
    expect(before.org.committed).toBe(3_000_000 + 600_000);
  });
});
