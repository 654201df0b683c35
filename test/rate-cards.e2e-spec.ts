import { EntityManager } from '@mikro-orm/postgresql';
import { PriceOperationUseCase } from '@tollgate/rate-cards';
import { createTestApp, TestApp, TestClient, uniqueId, waitFor } from '@tollgate/testing';

const HOUR = 3_600_000;
const iso = (ms: number): string => new Date(ms).toISOString();

/** A card selling video (per second, 1080p dearer than the rest) and images (graduated, per image). */
function cardBody(name = 'Standard') {
  return {
    name,
    rates: [
      { product: 'video.generate', dimension: 'video_seconds', model: 'flat', unit_price: '0.2' },
      { product: 'video.generate', dimension: 'video_seconds', match: { resolution: '1080p' }, model: 'flat', unit_price: '0.3' },
      {
        product: 'image.generate',
        dimension: 'images',
        model: 'graduated',
        tiers: [
          { up_to: 10, unit_price: '0.05' },
          { up_to: null, unit_price: '0.04' },
        ],
      },
      { product: 'video.fast', dimension: 'video_seconds', model: 'package', unit_price: '0.5', package_size: 5 },
    ],
    ladders: [{ product: 'video.generate', ladder: [{ resolution: '1080p' }, { resolution: '720p' }, { product: 'video.fast' }] }],
  };
}

describe('rate cards: catalog, schedules, overrides, cached pricing (Postgres + Redis)', () => {
  let t: TestApp;
  let api: TestClient;
  let pricing: PriceOperationUseCase;
  let em: EntityManager;

  beforeAll(async () => {
    t = await createTestApp();
    api = t.client;
    pricing = t.app.get(PriceOperationUseCase);
    em = t.app.get(EntityManager);
  });
  afterAll(() => t.close());

  async function createCard(body: Record<string, unknown> = cardBody()): Promise<any> {
    const res = await api.post('/v1/rate-cards', body);
    if (res.status !== 201) throw new Error(`create card: ${res.status} ${res.text}`);
    return res.body;
  }

  async function orgOnCard(cardId: string): Promise<string> {
    return api.createOrg(uniqueId('rc'), { rate_card_id: cardId });
  }

  /**
   * The audit entries of one resource, newest first, through the API. Rate card entries belong
   * to no organization, so they are found by paging the platform's log (other suites write to it
   * at the same time) back to when the resource was created.
   */
  async function auditOf(resourceId: string, since: string): Promise<any[]> {
    const found: any[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await api.get(`/v1/audit-log?limit=200${cursor ? `&cursor=${cursor}` : ''}`);
      found.push(...page.body.data.filter((e: any) => e.resource_id === resourceId));
      if (page.body.data.some((e: any) => e.created_at < since)) break;
      cursor = page.body.next_cursor;
    } while (cursor);
    return found;
  }

  const price = (orgId: string, fields: Partial<Parameters<PriceOperationUseCase['execute']>[0]> = {}) =>
    pricing.execute({
      orgId,
      environment: 'live',
      product: 'video.generate',
      usage: { video_seconds: 8 },
      dimensions: { resolution: '1080p' },
      at: new Date(),
      mode: 'estimate',
      ...fields,
    });

  describe('creating and reading', () => {
    it('creates a card with 201: ids, schedules, prices as strings, ladders in the API shape', async () => {
      const card = await createCard();
      expect(card.id).toMatch(/^rc_[A-Za-z0-9_-]+$/);
      expect(card.name).toBe('Standard');
      expect(card.rates).toHaveLength(4);
      expect(card.rates[1]).toMatchObject({
        id: expect.stringMatching(/^rate_/),
        product: 'video.generate',
        dimension: 'video_seconds',
        match: { resolution: '1080p' },
        model: 'flat',
        unit_price: '0.3',
        package_size: null,
        tiers: null,
        tier_scope: 'request',
        ending_before: null,
        in_force: true,
      });
      expect(Date.parse(card.rates[1].starting_at)).toBeLessThanOrEqual(Date.now());
      expect(card.rates[2].tiers).toEqual([
        { up_to: 10, unit_price: '0.05' },
        { up_to: null, unit_price: '0.04' },
      ]);
      expect(card.ladders).toEqual([
        expect.objectContaining({
          product: 'video.generate',
          ladder: [{ resolution: '1080p' }, { resolution: '720p' }, { product: 'video.fast' }],
        }),
      ]);

      const read = await api.get(`/v1/rate-cards/${card.id}`);
      expect(read.status).toBe(200);
      expect(read.body).toEqual(card);
    });

    it('lists cards newest first with a cursor', async () => {
      const a = await createCard(cardBody('A'));
      const b = await createCard(cardBody('B'));
      const first = await api.get('/v1/rate-cards?limit=1');
      expect(first.status).toBe(200);
      expect(first.body.data).toEqual([{ id: b.id, name: 'B', created_at: b.created_at, updated_at: b.updated_at }]);
      const second = await api.get(`/v1/rate-cards?limit=1&cursor=${first.body.next_cursor}`);
      expect(second.body.data[0].id).toBe(a.id);
    });

    it('answers 404 unknown_rate_card for a card that does not exist', async () => {
      const res = await api.get('/v1/rate-cards/rc_nope');
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('unknown_rate_card');
    });

    it('audits the creation with the card as created', async () => {
      const card = await createCard();
      const entry = (await auditOf(card.id, card.created_at)).find((e: any) => e.action === 'rate_card.created');
      expect(entry).toMatchObject({ resource_type: 'rate_card', before: null, after: { id: card.id, name: 'Standard' } });
      expect(entry.after.rates).toHaveLength(4);
    });

    it('replays a POST with the same Idempotency-Key, and refuses the key with another body', async () => {
      const key = uniqueId('idem');
      const first = await api.post('/v1/rate-cards', cardBody('Idem'), { idempotencyKey: key });
      const again = await api.post('/v1/rate-cards', cardBody('Idem'), { idempotencyKey: key });
      expect(first.status).toBe(201);
      expect(again.status).toBe(201);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.body.id).toBe(first.body.id);
      const other = await api.post('/v1/rate-cards', cardBody('Other'), { idempotencyKey: key });
      expect(other.status).toBe(409);
      expect(other.body.code).toBe('idempotency_key_reused');
    });
  });

  describe('validation: 422 with field paths, nothing stored', () => {
    async function cardCount(): Promise<number> {
      const [row] = await em.getConnection().execute<{ n: string }[]>('select count(*) as n from rate_cards');
      return Number(row.n);
    }

    it('refuses tiers that do not ascend or do not end open', async () => {
      const before = await cardCount();
      const res = await api.post('/v1/rate-cards', {
        name: 'Bad',
        rates: [
          { product: 'p', dimension: 'd', model: 'flat', unit_price: '1' },
          {
            product: 'image.generate',
            dimension: 'images',
            model: 'volume',
            tiers: [
              { up_to: 10, unit_price: '0.05' },
              { up_to: 5, unit_price: '0.04' },
              { up_to: 20, unit_price: '0.03' },
            ],
          },
        ],
      });
      expect(res.status).toBe(422);
      expect(res.body.code).toBe('validation_failed');
      expect(res.body.errors).toEqual(
        expect.arrayContaining([
          { field: 'rates[1].tiers[1].up_to', message: expect.stringContaining('greater than') },
          { field: 'rates[1].tiers[2].up_to', message: expect.stringContaining('last tier must be open') },
        ]),
      );
      expect(await cardCount()).toBe(before);
    });

    it('lists every problem at once: prices, models, unknown fields, instants, ladders', async () => {
      const res = await api.post('/v1/rate-cards', {
        name: 'Bad',
        rates: [
          { product: 'p', dimension: 'd', model: 'flat', unit_price: 0.3 },
          { product: 'p', dimension: 'e', model: 'tiered', unit_price: '1' },
          { product: 'p', dimension: 'f', model: 'flat', unit_price: '1', ending_befor: '2030-01-01T00:00:00Z' },
          { product: 'p', dimension: 'g', model: 'flat', unit_price: '1', starting_at: 'tomorrow' },
          'not a rate',
        ],
        ladders: [{ product: 'p', ladder: [{}, { product: 'nope' }] }],
      });
      expect(res.status).toBe(422);
      const fields = res.body.errors.map((e: any) => e.field);
      expect(fields).toEqual(
        expect.arrayContaining([
          'rates[0].unit_price',
          'rates[1].model',
          'rates[2].ending_befor',
          'rates[3].starting_at',
          'rates[4]',
          'ladders[0].ladder[1].product',
        ]),
      );
      expect(res.body.errors.filter((e: any) => e.field === 'rates[4]')).toHaveLength(1);
    });

    it('refuses two rates of one identity in force at once, and equally specific rates a request could match both', async () => {
      const start = iso(Date.now() + HOUR);
      const res = await api.post('/v1/rate-cards', {
        name: 'Overlaps',
        rates: [
          { product: 'p', dimension: 'd', model: 'flat', unit_price: '1', starting_at: start },
          { product: 'p', dimension: 'd', model: 'flat', unit_price: '2', starting_at: start },
          { product: 'p', dimension: 'd', match: { a: '1' }, model: 'flat', unit_price: '1' },
          { product: 'p', dimension: 'd', match: { b: '1' }, model: 'flat', unit_price: '1' },
        ],
      });
      expect(res.status).toBe(422);
      expect(res.body.errors).toEqual(
        expect.arrayContaining([
          { field: 'rates[1].starting_at', message: expect.stringContaining('same product, dimension and match') },
          { field: 'rates[3].match', message: expect.stringContaining('as specific as') },
        ]),
      );
    });

    it('refuses a bad name or a missing rates list with class-validator paths', async () => {
      const res = await api.post('/v1/rate-cards', { name: '' });
      expect(res.status).toBe(422);
      expect(res.body.errors.map((e: any) => e.field)).toEqual(expect.arrayContaining(['name', 'rates']));
    });
  });

  describe('scheduled changes (append-only)', () => {
    it('adds a price change: the rate in force is ended at its start, and the right one prices each instant', async () => {
      const card = await createCard();
      const org = await orgOnCard(card.id);
      const dear = card.rates[1];
      const change = Date.now() + HOUR;

      const res = await api.post(`/v1/rate-cards/${card.id}/rates`, {
        rates: [
          {
            product: 'video.generate',
            dimension: 'video_seconds',
            match: { resolution: '1080p' },
            model: 'flat',
            unit_price: '0.25',
            starting_at: iso(change),
          },
        ],
      });
      expect(res.status).toBe(201);
      expect(res.body.rates).toEqual([
        expect.objectContaining({ unit_price: '0.25', starting_at: iso(change), ending_before: null, in_force: false }),
      ]);
      expect(res.body.ended).toEqual([
        expect.objectContaining({ id: dear.id, unit_price: '0.3', ending_before: iso(change), in_force: true }),
      ]);

      const now = await api.get(`/v1/rate-cards/${card.id}`);
      expect(now.body.rates.filter((r: any) => r.match.resolution === '1080p').map((r: any) => [r.unit_price, r.in_force])).toEqual([
        ['0.3', true],
        ['0.25', false],
      ]);
      const later = await api.get(`/v1/rate-cards/${card.id}?at=${iso(change)}`);
      expect(later.body.rates.filter((r: any) => r.match.resolution === '1080p').map((r: any) => [r.unit_price, r.in_force])).toEqual([
        ['0.3', false],
        ['0.25', true],
      ]);

      const before = await price(org, { at: new Date(change - 1) });
      const after = await price(org, { at: new Date(change) });
      expect(before).toMatchObject({
        rate_card_id: card.id,
        total: 2_400_000,
        rates: [expect.objectContaining({ rate_id: dear.id, unit_price: '0.3', override_id: null })],
      });
      expect(after).toMatchObject({
        total: 2_000_000,
        rates: [expect.objectContaining({ rate_id: res.body.rates[0].id, unit_price: '0.25' })],
      });
      expect(after.lines).toEqual([{ dimension: 'video_seconds', quantity: '8', unit_price: '0.25', amount: 2_000_000 }]);
    });

    it('slots a change in before one already scheduled: it runs until the next one starts', async () => {
      const card = await createCard();
      const in2h = Date.now() + 2 * HOUR;
      const in1h = Date.now() + HOUR;
      const identity = { product: 'video.generate', dimension: 'video_seconds', match: {}, model: 'flat' };
      await api.post(`/v1/rate-cards/${card.id}/rates`, { rates: [{ ...identity, unit_price: '0.1', starting_at: iso(in2h) }] });
      const res = await api.post(`/v1/rate-cards/${card.id}/rates`, {
        rates: [{ ...identity, unit_price: '0.15', starting_at: iso(in1h) }],
      });
      expect(res.status).toBe(201);
      expect(res.body.rates[0]).toMatchObject({ unit_price: '0.15', starting_at: iso(in1h), ending_before: iso(in2h) });
      expect(res.body.ended).toEqual([expect.objectContaining({ unit_price: '0.2', ending_before: iso(in1h) })]);
    });

    it('refuses an overlap with the existing schedule, a start in the past, and an unknown card; stores nothing', async () => {
      const card = await createCard();
      const start = iso(Date.now() + HOUR);
      const identity = { product: 'video.generate', dimension: 'video_seconds', model: 'flat' };
      expect(
        (await api.post(`/v1/rate-cards/${card.id}/rates`, { rates: [{ ...identity, unit_price: '0.1', starting_at: start }] })).status,
      ).toBe(201);

      const same = await api.post(`/v1/rate-cards/${card.id}/rates`, { rates: [{ ...identity, unit_price: '0.12', starting_at: start }] });
      expect(same.status).toBe(422);
      expect(same.body.errors).toEqual([{ field: 'rates[0].starting_at', message: expect.stringContaining('existing rate') }]);

      const past = await api.post(`/v1/rate-cards/${card.id}/rates`, {
        rates: [{ ...identity, unit_price: '0.12', starting_at: '2020-01-01T00:00:00Z' }],
      });
      expect(past.status).toBe(422);
      expect(past.body.errors).toEqual([{ field: 'rates[0].starting_at', message: expect.stringContaining('past') }]);

      expect((await api.get(`/v1/rate-cards/${card.id}`)).body.rates).toHaveLength(5);
      const missing = await api.post('/v1/rate-cards/rc_missing/rates', { rates: [{ ...identity, unit_price: '1' }] });
      expect(missing.status).toBe(404);
      expect(missing.body.code).toBe('unknown_rate_card');
    });

    it('checks concurrent additions one after the other: of two clashing ones, exactly one is stored', async () => {
      const card = await createCard();
      const start = iso(Date.now() + HOUR);
      const rate = (price: string) => ({
        rates: [{ product: 'video.fast', dimension: 'video_seconds', model: 'flat', unit_price: price, starting_at: start }],
      });
      const results = await Promise.all(['0.11', '0.12', '0.13', '0.14'].map((p) => api.post(`/v1/rate-cards/${card.id}/rates`, rate(p))));
      expect(results.map((r) => r.status).sort()).toEqual([201, 422, 422, 422]);
      expect((await api.get(`/v1/rate-cards/${card.id}`)).body.rates.filter((r: any) => r.starting_at === start)).toHaveLength(1);
    });

    it('audits an addition with the ends it changed, before and after', async () => {
      const card = await createCard();
      const start = iso(Date.now() + HOUR);
      const res = await api.post(`/v1/rate-cards/${card.id}/rates`, {
        rates: [{ product: 'image.generate', dimension: 'images', model: 'flat', unit_price: '0.03', starting_at: start }],
      });
      const entry = (await auditOf(card.id, card.created_at)).find((e: any) => e.action === 'rate_card.rates_added');
      expect(entry).toMatchObject({
        before: { ended: [{ id: card.rates[2].id, ending_before: null }] },
        after: {
          added: [expect.objectContaining({ id: res.body.rates[0].id, unit_price: '0.03' })],
          ended: [{ id: card.rates[2].id, ending_before: start }],
        },
      });
    });

    it('never edits a price in place: the database refuses it', async () => {
      const card = await createCard();
      await expect(em.getConnection().execute(`update rates set unit_price = '9' where id = ?`, [card.rates[0].id])).rejects.toThrow(
        /append-only/,
      );
      await expect(em.getConnection().execute(`delete from rates where id = ?`, [card.rates[0].id])).rejects.toThrow(/append-only/);
    });
  });

  describe('who may do what', () => {
    it('needs quota:admin and a platform key to write; an organization key reads only its own card', async () => {
      const mine = await createCard();
      const other = await createCard();
      const org = await orgOnCard(mine.id);
      const admin = (await api.createOrgKey(org, ['quota:admin', 'read'])).secret;
      const reader = (await api.createOrgKey(org, ['read'])).secret;

      const asAdmin = await api.post('/v1/rate-cards', cardBody(), { key: admin });
      expect([asAdmin.status, asAdmin.body.code]).toEqual([403, 'platform_key_required']);
      const asReader = await api.post('/v1/rate-cards', cardBody(), { key: reader });
      expect([asReader.status, asReader.body.code]).toEqual([403, 'insufficient_scope']);
      const addAsAdmin = await api.post(`/v1/rate-cards/${mine.id}/rates`, { rates: [] }, { key: admin });
      expect(addAsAdmin.status).toBe(403);

      expect((await api.get(`/v1/rate-cards/${mine.id}`, { key: reader })).status).toBe(200);
      const foreign = await api.get(`/v1/rate-cards/${other.id}`, { key: reader });
      expect([foreign.status, foreign.body.code]).toEqual([404, 'unknown_rate_card']);
      const list = await api.get('/v1/rate-cards', { key: reader });
      expect(list.body.data.map((c: any) => c.id)).toEqual([mine.id]);
    });

    it('a platform key without quota:admin cannot create cards', async () => {
      const key = await api.post('/v1/platform-keys', { scopes: ['read'] });
      const res = await api.post('/v1/rate-cards', cardBody(), { key: key.body.secret });
      expect([res.status, res.body.code]).toEqual([403, 'insufficient_scope']);
    });
  });

  describe("an organization's rate card", () => {
    it('refuses an unknown rate_card_id on create and on PATCH with 404 unknown_rate_card, accepts a real one', async () => {
      const created = await api.post('/v1/orgs', { id: uniqueId('rc'), name: 'x', rate_card_id: 'rc_unknown' });
      expect([created.status, created.body.code]).toEqual([404, 'unknown_rate_card']);
      const org = await api.createOrg(uniqueId('rc'));
      const patched = await api.patch(`/v1/orgs/${org}`, { rate_card_id: 'rc_unknown' });
      expect([patched.status, patched.body.code]).toEqual([404, 'unknown_rate_card']);
      expect((await api.get(`/v1/orgs/${org}`)).body.rate_card_id).toBeNull();

      const card = await createCard();
      const ok = await api.patch(`/v1/orgs/${org}`, { rate_card_id: card.id });
      expect([ok.status, ok.body.rate_card_id]).toEqual([200, card.id]);
      expect((await price(org)).rate_card_id).toBe(card.id);
      expect((await api.patch(`/v1/orgs/${org}`, { rate_card_id: null })).status).toBe(200);
      await expect(price(org)).rejects.toMatchObject({ code: 'no_rate_card' });
    });
  });

  describe('overrides', () => {
    it('replaces the price of one rate for one organization, audited, listed, and scheduled like rates', async () => {
      const card = await createCard();
      const org = await orgOnCard(card.id);
      const neighbour = await orgOnCard(card.id);
      const res = await api.post(`/v1/orgs/${org}/rate-overrides`, {
        overrides: [
          { product: 'video.generate', dimension: 'video_seconds', match: { resolution: '1080p' }, model: 'flat', unit_price: '0.15' },
        ],
      });
      expect(res.status).toBe(201);
      expect(res.body.overrides).toEqual([
        expect.objectContaining({
          id: expect.stringMatching(/^ro_/),
          org_id: org,
          unit_price: '0.15',
          ending_before: null,
          in_force: true,
        }),
      ]);

      const mine = await price(org);
      expect(mine).toMatchObject({
        total: 1_200_000,
        rates: [expect.objectContaining({ rate_id: card.rates[1].id, override_id: res.body.overrides[0].id, unit_price: '0.15' })],
      });
      expect((await price(neighbour)).total).toBe(2_400_000);
      // Other dimensions of the same product keep the card's price.
      expect((await price(org, { dimensions: { resolution: '720p' } })).total).toBe(1_600_000);

      const later = Date.now() + HOUR;
      const next = await api.post(`/v1/orgs/${org}/rate-overrides`, {
        overrides: [
          {
            product: 'video.generate',
            dimension: 'video_seconds',
            match: { resolution: '1080p' },
            model: 'flat',
            unit_price: '0.1',
            starting_at: iso(later),
          },
        ],
      });
      expect(next.body.ended).toEqual([expect.objectContaining({ id: res.body.overrides[0].id, ending_before: iso(later) })]);
      expect((await price(org, { at: new Date(later) })).total).toBe(800_000);

      const list = await api.get(`/v1/orgs/${org}/rate-overrides`);
      expect(list.body.data.map((o: any) => o.unit_price)).toEqual(['0.15', '0.1']);
      const log = await api.get(`/v1/audit-log?org_id=${org}`);
      expect(log.body.data.filter((e: any) => e.action === 'rate_overrides.added')).toHaveLength(2);
    });

    it('refuses an override of a rate the card does not have, an org without a card, and an organization key', async () => {
      const card = await createCard();
      const org = await orgOnCard(card.id);
      const typo = await api.post(`/v1/orgs/${org}/rate-overrides`, {
        overrides: [{ product: 'video.generate', dimension: 'video_seconds', match: { resolution: '4k' }, model: 'flat', unit_price: '1' }],
      });
      expect(typo.status).toBe(422);
      expect(typo.body.errors).toEqual([{ field: 'overrides[0]', message: expect.stringContaining('no rate') }]);

      const bare = await api.createOrg(uniqueId('rc'));
      const noCard = await api.post(`/v1/orgs/${bare}/rate-overrides`, {
        overrides: [{ product: 'video.generate', dimension: 'video_seconds', model: 'flat', unit_price: '1' }],
      });
      expect([noCard.status, noCard.body.code]).toEqual([409, 'no_rate_card']);

      const key = (await api.createOrgKey(org, ['quota:admin', 'read'])).secret;
      const own = await api.post(
        `/v1/orgs/${org}/rate-overrides`,
        { overrides: [{ product: 'video.generate', dimension: 'video_seconds', model: 'flat', unit_price: '0' }] },
        { key },
      );
      expect([own.status, own.body.code]).toEqual([403, 'platform_key_required']);
      expect((await api.get(`/v1/orgs/${org}/rate-overrides`, { key })).status).toBe(200);
      const foreign = await api.get(`/v1/orgs/${bare}/rate-overrides`, { key });
      expect([foreign.status, foreign.body.code]).toEqual([404, 'unknown_org']);
      expect((await api.get(`/v1/orgs/${org}/rate-overrides`)).body.data).toEqual([]);
    });
  });

  describe('ladders', () => {
    it('puts (201, then 200), validates against the card, removes, and offers the alternatives', async () => {
      const card = await createCard({ ...cardBody(), ladders: [] });
      const org = await orgOnCard(card.id);
      expect(await pricing.downgradeOptions(org, 'video.generate', { resolution: '1080p' })).toEqual([]);

      const put = await api.put(`/v1/rate-cards/${card.id}/ladders/video.generate`, {
        ladder: [{ resolution: '1080p' }, { resolution: '720p' }, { product: 'video.fast' }],
      });
      expect(put.status).toBe(201);
      expect(put.body).toMatchObject({
        rate_card_id: card.id,
        product: 'video.generate',
        ladder: [{ resolution: '1080p' }, { resolution: '720p' }, { product: 'video.fast' }],
      });
      expect(await pricing.downgradeOptions(org, 'video.generate', { resolution: '1080p', fps: '24' })).toEqual([
        { product: 'video.generate', dimensions: { resolution: '720p', fps: '24' } },
        { product: 'video.fast', dimensions: { resolution: '1080p', fps: '24' } },
      ]);

      expect(
        (await api.put(`/v1/rate-cards/${card.id}/ladders/video.generate`, { ladder: [{ resolution: '1080p' }, { resolution: '480p' }] }))
          .status,
      ).toBe(200);
      const bad = await api.put(`/v1/rate-cards/${card.id}/ladders/video.generate`, {
        ladder: [{ resolution: '1080p' }, { product: 'audio' }, { resolution: 7 }],
      });
      expect(bad.status).toBe(422);
      expect(bad.body.errors.map((e: any) => e.field)).toEqual(expect.arrayContaining(['ladder[1].product', 'ladder[2].resolution']));

      expect((await api.delete(`/v1/rate-cards/${card.id}/ladders/video.generate`)).status).toBe(204);
      expect((await api.delete(`/v1/rate-cards/${card.id}/ladders/video.generate`)).body.code).toBe('unknown_ladder');
      expect(await pricing.downgradeOptions(org, 'video.generate', { resolution: '1080p' })).toEqual([]);
      expect((await auditOf(card.id, card.created_at)).map((e: any) => e.action)).toEqual([
        'rate_card.ladder_removed',
        'rate_card.ladder_replaced',
        'rate_card.ladder_added',
        'rate_card.created',
      ]);
    });
  });

  describe('PriceOperationUseCase', () => {
    it('prices graduated and package rates, and refuses what it cannot price with stable codes', async () => {
      const card = await createCard();
      const org = await orgOnCard(card.id);
      const images = await price(org, { product: 'image.generate', usage: { images: 12 }, dimensions: {} });
      expect(images.lines).toEqual([
        { dimension: 'images', quantity: '10', unit_price: '0.05', tier: 0, amount: 500_000 },
        { dimension: 'images', quantity: '2', unit_price: '0.04', tier: 1, amount: 80_000 },
      ]);
      expect(images.total).toBe(580_000);
      expect((await price(org, { product: 'video.fast', usage: { video_seconds: 6 } })).total).toBe(1_000_000);

      await expect(price(org, { product: 'music.generate' })).rejects.toMatchObject({ code: 'unknown_product' });
      await expect(price(org, { usage: { video_seconds: 8, frames: 3 } })).rejects.toMatchObject({
        code: 'unpriceable_usage',
        extensions: { dimension: 'frames' },
      });
      await expect(price(org, { usage: { video_seconds: -1 } })).rejects.toMatchObject({
        code: 'validation_failed',
        extensions: { errors: [{ field: 'usage.video_seconds' }] },
      });
      await expect(price(await api.createOrg(uniqueId('rc')))).rejects.toMatchObject({ code: 'no_rate_card' });
    });

    it('prices a commit at the rates the hold recorded, whatever changed since', async () => {
      const card = await createCard();
      const org = await orgOnCard(card.id);
      const hold = await price(org);
      await api.post(`/v1/orgs/${org}/rate-overrides`, {
        overrides: [
          { product: 'video.generate', dimension: 'video_seconds', match: { resolution: '1080p' }, model: 'flat', unit_price: '0.01' },
        ],
      });
      const commit = pricing.priceWithRecordedRates(hold.rates, { video_seconds: '6.5' }, 'actual');
      expect(commit).toEqual({
        lines: [{ dimension: 'video_seconds', quantity: '6.5', unit_price: '0.3', amount: 1_950_000 }],
        total: 1_950_000,
      });
      expect(() => pricing.priceWithRecordedRates(hold.rates, { images: 1 }, 'actual')).toThrow(
        expect.objectContaining({ code: 'unpriceable_usage' }),
      );
    });

    it('reads no database when warm: prices with the rate tables renamed away', async () => {
      const card = await createCard();
      const org = await orgOnCard(card.id);
      const warm = await price(org);
      const cold = await orgOnCard((await createCard()).id);
      const connection = em.getConnection();
      const tables = ['rates', 'rate_overrides', 'rate_cards'];
      for (const table of tables) await connection.execute(`alter table ${table} rename to ${table}_away`);
      try {
        expect(await price(org)).toEqual(warm);
        expect(await pricing.downgradeOptions(org, 'video.generate', { resolution: '1080p' })).toHaveLength(2);
        // The tables really are gone: a card nobody priced yet cannot be loaded.
        await expect(price(cold)).rejects.toThrow(/rate_cards|rates/);
      } finally {
        for (const table of tables) await connection.execute(`alter table ${table}_away rename to ${table}`);
      }
      expect((await price(cold)).total).toBe(2_400_000);
    });

    it('sees a change made through another instance within a second (invalidation over Redis)', async () => {
      const other = await createTestApp();
      try {
        const card = await createCard();
        const org = await orgOnCard(card.id);
        const otherPricing = other.app.get(PriceOperationUseCase);
        const otherPrice = () =>
          otherPricing.execute({
            orgId: org,
            environment: 'live',
            product: 'video.generate',
            usage: { video_seconds: 8 },
            dimensions: { resolution: '1080p' },
            at: new Date(),
            mode: 'estimate',
          });
        expect((await otherPrice()).total).toBe(2_400_000);
        expect((await price(org)).total).toBe(2_400_000);
        expect(
          (
            await otherPricing.execute({
              orgId: org,
              environment: 'live',
              product: 'video.generate',
              usage: { video_seconds: 2 },
              dimensions: {},
              at: new Date(Date.now() + 1_500),
              mode: 'estimate',
            })
          ).total,
        ).toBe(400_000);

        // A change written through the other instance: this one must drop its copy.
        const change = await other.client.post(`/v1/orgs/${org}/rate-overrides`, {
          overrides: [
            { product: 'video.generate', dimension: 'video_seconds', match: { resolution: '1080p' }, model: 'flat', unit_price: '0.05' },
          ],
        });
        expect(change.status).toBe(201);
        await waitFor(async () => (await price(org)).total === 400_000, 1_000);

        const soon = Date.now() + 1_500;
        await api.post(`/v1/rate-cards/${card.id}/rates`, {
          rates: [
            { product: 'video.generate', dimension: 'video_seconds', match: {}, model: 'flat', unit_price: '0.5', starting_at: iso(soon) },
          ],
        });
        const atSoon = () =>
          otherPricing.execute({
            orgId: org,
            environment: 'live',
            product: 'video.generate',
            usage: { video_seconds: 2 },
            dimensions: {},
            at: new Date(soon),
            mode: 'estimate',
          });
        await waitFor(async () => (await atSoon()).total === 1_000_000, 1_000);
      } finally {
        await other.close();
      }
    });
  });
});

describe('rate cards on embedded Postgres (PGlite, in-process bus)', () => {
  it('creates a card, schedules a change, overrides a rate and prices, as on Postgres', async () => {
    const t = await createTestApp({ embedded: true });
    try {
      const api = t.client;
      const card = (await api.post('/v1/rate-cards', cardBody())).body;
      const org = await api.createOrg('embedded-org', { rate_card_id: card.id });
      const start = new Date(Date.now() + HOUR).toISOString();
      const added = await api.post(`/v1/rate-cards/${card.id}/rates`, {
        rates: [{ product: 'video.generate', dimension: 'video_seconds', model: 'flat', unit_price: '0.1', starting_at: start }],
      });
      expect(added.body.ended).toEqual([expect.objectContaining({ id: card.rates[0].id, ending_before: start })]);
      const override = await api.post(`/v1/orgs/${org}/rate-overrides`, {
        overrides: [
          { product: 'video.generate', dimension: 'video_seconds', match: { resolution: '1080p' }, model: 'flat', unit_price: '0.15' },
        ],
      });
      expect(override.status).toBe(201);
      const pricing = t.app.get(PriceOperationUseCase);
      const priced = await pricing.execute({
        orgId: org,
        environment: 'test',
        product: 'video.generate',
        usage: { video_seconds: 8 },
        dimensions: { resolution: '1080p' },
        at: new Date(),
        mode: 'estimate',
      });
      expect(priced.total).toBe(1_200_000);
    } finally {
      await t.close();
    }
  });
});
