import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import {
  ActiveHold,
  emptySnapshot,
  HoldSpec,
  NodeConfig,
  NodeRef,
  NodeUsage,
  periodId,
  QuotaError,
  QuotaScope,
  QuotaStore,
} from '@tollgate/quota';

export interface QuotaStoreHarness {
  store: QuotaStore;
  /** Removes everything the suite wrote (keys under a test prefix). */
  cleanup: () => Promise<void>;
  /** Loses a scope's state as a Redis FLUSHALL or a restart would. */
  forget: (scope: QuotaScope) => Promise<void>;
}

const MAX = Number.MAX_SAFE_INTEGER;
const NOW = new Date('2026-11-28T12:00:00.000Z');
const HOUR = 3_600_000;
const at = (iso: string) => new Date(iso);
/** The periods of every kind at NOW: what a hold admitted then records. */
const NOW_PERIODS = { day: '2026-11-28', week: '2026-W48', month: '2026-11' };

const ORG: NodeRef = { level: 'org' };
const project = (projectId = 'p1'): NodeRef => ({ level: 'project', projectId });
const user = (userId = 'u1', projectId = 'p1'): NodeRef => ({ level: 'user', projectId, userId });
const cap = (limit: number | null, period: NodeConfig['period'] = 'none'): NodeConfig => ({ limit, period });

let sequence = 0;
function hold(amount: number, over: Partial<HoldSpec> = {}): HoldSpec {
  return { holdId: `h-${++sequence}`, projectId: 'p1', userId: 'u1', amount, expiresAtMs: NOW.getTime() + HOUR, ...over };
}

/**
 * The QuotaStore contract: every adapter must pass it. Each test works in a scope of its own
 * (a fresh organization id), so adapters backed by a shared server isolate tests by id.
 */
export function quotaStoreContract(name: string, makeStore: () => Promise<QuotaStoreHarness>): void {
  describe(`QuotaStore contract: ${name}`, () => {
    let harness: QuotaStoreHarness;
    let sut: QuotaStore;

    beforeAll(async () => {
      harness = await makeStore();
      sut = harness.store;
    });
    afterAll(async () => harness?.cleanup());

    const newScope = (environment: QuotaScope['environment'] = 'live'): QuotaScope => ({ orgId: `org-${randomUUID()}`, environment });

    /** A loaded, empty scope with the given configs. */
    async function given(configs: [NodeRef, NodeConfig][] = [], defaults: [string, NodeConfig][] = []): Promise<QuotaScope> {
      const scope = newScope();
      expect(await sut.load(scope, emptySnapshot())).toEqual({ kind: 'loaded' });
      for (const [node, config] of configs) expect(await sut.configure(scope, node, config)).toEqual({ kind: 'configured' });
      for (const [projectId, config] of defaults)
        expect(await sut.configureDefaultUser(scope, projectId, config)).toEqual({ kind: 'configured' });
      return scope;
    }

    async function figures(scope: QuotaScope, node: NodeRef, now = NOW): Promise<NodeUsage> {
      const outcome = await sut.usage(scope, [node], now);
      if (outcome.kind !== 'usage') throw new Error(`usage: ${outcome.kind}`);
      return outcome.nodes[0];
    }

    async function reserved(scope: QuotaScope, now = NOW): Promise<number[]> {
      const outcome = await sut.usage(scope, [ORG, project(), user()], now);
      if (outcome.kind !== 'usage') throw new Error(`usage: ${outcome.kind}`);
      return outcome.nodes.map((n) => n.reserved);
    }

    describe('running quantities (commit compare-and-set)', () => {
      it('moves quantities with the commit only from what the commit expected, else changes nothing and says what they are', async () => {
        const scope = await given([[ORG, cap(1_000)]]);
        const a = hold(100);
        const b = hold(100);
        await sut.reserve(scope, a, NOW);
        await sut.reserve(scope, b, NOW);
        expect(
          await sut.commit(scope, a.holdId, 60, NOW, undefined, [{ key: 'video|sec|2026-11', expected: null, next: '8' }]),
        ).toMatchObject({ kind: 'committed', charged: 60 });
        // b priced from the same starting point: stale, nothing charged, the hold still there.
        expect(
          await sut.commit(scope, b.holdId, 70, NOW, undefined, [
            { key: 'video|sec|2026-11', expected: null, next: '5.5' },
            { key: 'img|n|2026-11', expected: null, next: '1' },
          ]),
        ).toEqual({
          kind: 'stale',
          quantities: { 'video|sec|2026-11': '8', 'img|n|2026-11': null },
        });
        expect(await figures(scope, ORG)).toMatchObject({ committed: 60, reserved: 100 });
        expect(
          await sut.commit(scope, b.holdId, 70, NOW, undefined, [{ key: 'video|sec|2026-11', expected: '8', next: '13.5' }]),
        ).toMatchObject({ kind: 'committed', charged: 70 });
        // A hold that is gone is not_held before any quantity is looked at.
        expect(
          await sut
            .commit(scope, b.holdId, 1, NOW, undefined, [{ key: 'video|sec|2026-11', expected: 'x' as never, next: '1' }])
            .catch((e) => e.code),
        ).toBe('invalid_quota_request');
        expect(await sut.commit(scope, b.holdId, 1, NOW, undefined, [{ key: 'video|sec|2026-11', expected: null, next: '1' }])).toEqual({
          kind: 'not_held',
        });
      });

      it('rebuilds quantities from a snapshot', async () => {
        const scope = newScope();
        await sut.load(scope, { ...emptySnapshot(), quantities: [{ key: 'video|sec|2026-11', value: '42.5' }] });
        const h = hold(5);
        await sut.reserve(scope, h, NOW);
        expect(await sut.commit(scope, h.holdId, 5, NOW, undefined, [{ key: 'video|sec|2026-11', expected: null, next: '1' }])).toEqual({
          kind: 'stale',
          quantities: { 'video|sec|2026-11': '42.5' },
        });
      });
    });

    describe('reserve with alternatives (downgrade)', () => {
      it('holds the first of the amount and its alternatives that fits at every level, in one decision', async () => {
        const scope = await given([
          [ORG, cap(1_000)],
          [project(), cap(500)],
          [user(), cap(300)],
        ]);
        const h = hold(800, { alternatives: [400, 250, 100] });
        const outcome = await sut.reserve(scope, h, NOW);
        expect(outcome).toMatchObject({ kind: 'held', choice: 2, remaining: { org: 750, project: 250, user: 50 } });
        expect(await reserved(scope)).toEqual([250, 250, 250]);
        // The hold is what was held: committing it charges within 250, releasing returns 250.
        expect(await sut.release(scope, h.holdId)).toMatchObject({ kind: 'released', hold: { amount: 250 } });
        expect(await reserved(scope)).toEqual([0, 0, 0]);
      });

      it('holds the amount itself when it fits (choice 0)', async () => {
        const scope = await given([[ORG, cap(1_000)]]);
        expect(await sut.reserve(scope, hold(800, { alternatives: [100] }), NOW)).toMatchObject({ kind: 'held', choice: 0 });
        expect(await figures(scope, ORG)).toMatchObject({ reserved: 800 });
      });

      it('refuses for the amount when nothing fits, saying the most every level could admit now', async () => {
        const scope = await given([
          [ORG, cap(1_000)],
          [project(), cap(500)],
          [user(), cap(300)],
        ]);
        await sut.reserve(scope, hold(280), NOW);
        expect(await sut.reserve(scope, hold(600, { alternatives: [400, 30] }), NOW)).toEqual({
          kind: 'refused',
          level: 'project',
          required: 600,
          available: 220,
          fitsUpTo: 20,
        });
        expect(await sut.reserve(scope, hold(600, { alternatives: [] }), NOW)).toEqual({
          kind: 'refused',
          level: 'project',
          required: 600,
          available: 220,
          fitsUpTo: 20,
        });
        expect(await reserved(scope)).toEqual([280, 280, 280]);
      });

      it('refuses bad alternatives, and alternatives in a batch', async () => {
        const scope = await given();
        await expect(sut.reserve(scope, hold(5, { alternatives: [0] }), NOW)).rejects.toMatchObject({ code: 'invalid_amount' });
        await expect(sut.reserve(scope, hold(5, { alternatives: Array(17).fill(1) }), NOW)).rejects.toBeInstanceOf(QuotaError);
        await expect(sut.reserveBatch(scope, [hold(5, { alternatives: [1] })], 'all_or_nothing', NOW)).rejects.toBeInstanceOf(QuotaError);
        expect(await figures(scope, ORG)).toMatchObject({ reserved: 0 });
      });
    });

    describe('reserve', () => {
      it('admits within the limits of every level and reports what is left', async () => {
        const scope = await given([
          [ORG, cap(1_000)],
          [project(), cap(500, 'month')],
          [user(), cap(200, 'day')],
        ]);
        const h = hold(150);
        expect(await sut.reserve(scope, h, NOW)).toEqual({
          kind: 'held',
          holdId: h.holdId,
          periods: NOW_PERIODS,
          remaining: { org: 850, project: 350, user: 50 },
        });
        expect(await reserved(scope)).toEqual([150, 150, 150]);
        expect(await sut.reserve(scope, hold(50), NOW)).toMatchObject({ kind: 'held', remaining: { org: 800, project: 300, user: 0 } });
      });

      it('admits an amount that uses a limit exactly', async () => {
        const scope = await given([[ORG, cap(100)]]);
        expect(await sut.reserve(scope, hold(100), NOW)).toMatchObject({ kind: 'held', remaining: { org: 0 } });
        expect(await sut.reserve(scope, hold(1), NOW)).toEqual({ kind: 'refused', level: 'org', required: 1, available: 0 });
      });

      it('refuses naming the first short level from the top, and changes nothing', async () => {
        const scope = await given([
          [ORG, cap(100)],
          [project(), cap(80)],
          [user(), cap(60)],
        ]);
        await sut.reserve(scope, hold(30), NOW);
        // Every level is short: the org is named.
        expect(await sut.reserve(scope, hold(90), NOW)).toEqual({ kind: 'refused', level: 'org', required: 90, available: 70 });
        // Project and user short: the project is named.
        expect(await sut.reserve(scope, hold(60), NOW)).toEqual({ kind: 'refused', level: 'project', required: 60, available: 50 });
        // Only the user is short.
        expect(await sut.reserve(scope, hold(31), NOW)).toEqual({ kind: 'refused', level: 'user', required: 31, available: 30 });
        expect(await reserved(scope)).toEqual([30, 30, 30]);
      });

      it('reports available as 0, never negative, when a node is overdrawn', async () => {
        const scope = await given([[project(), cap(100)]]);
        const h = hold(100);
        await sut.reserve(scope, h, NOW);
        await sut.commit(scope, h.holdId, 130, NOW); // an overage the caller's policy allowed
        expect(await sut.reserve(scope, hold(1), NOW)).toEqual({ kind: 'refused', level: 'project', required: 1, available: 0 });
        expect(await figures(scope, project())).toMatchObject({ committed: 130, reserved: 0, available: 0 });
      });

      it('lets levels without a limit admit anything and reports them as null', async () => {
        const scope = await given([[user(), cap(10)]]);
        expect(await sut.reserve(scope, hold(10), NOW)).toMatchObject({ kind: 'held', remaining: { org: null, project: null, user: 0 } });
        expect(await sut.reserve(scope, hold(5_000_000, { userId: 'u2' }), NOW)).toMatchObject({
          kind: 'held',
          remaining: { org: null, project: null, user: null },
        });
        expect(await figures(scope, ORG)).toEqual({
          node: ORG,
          source: 'none',
          limit: null,
          period: 'none',
          periodId: '',
          committed: 0,
          reserved: 5_000_010,
          available: null,
        });
      });

      it('keeps the levels of different projects and users apart', async () => {
        const scope = await given([
          [project('p1'), cap(100)],
          [user('u1', 'p2'), cap(10)],
        ]);
        expect(await sut.reserve(scope, hold(100, { projectId: 'p2', userId: 'u2' }), NOW)).toMatchObject({ kind: 'held' });
        expect(await sut.reserve(scope, hold(100, { projectId: 'p1', userId: 'u1' }), NOW)).toMatchObject({ kind: 'held' });
        expect(await sut.reserve(scope, hold(11, { projectId: 'p2', userId: 'u1' }), NOW)).toMatchObject({
          kind: 'refused',
          level: 'user',
        });
        expect(await sut.reserve(scope, hold(10, { projectId: 'p2', userId: 'u1' }), NOW)).toMatchObject({ kind: 'held' });
      });

      it('answers duplicate for an active hold id and holds nothing more', async () => {
        const scope = await given([[ORG, cap(1_000)]]);
        const h = hold(100);
        await sut.reserve(scope, h, NOW);
        expect(await sut.reserve(scope, { ...h, amount: 300 }, NOW)).toEqual({
          kind: 'duplicate',
          hold: { ...h, periods: NOW_PERIODS },
        });
        expect(await reserved(scope)).toEqual([100, 100, 100]);
      });

      it('keeps live and test apart', async () => {
        const live = await given([[ORG, cap(100)]]);
        const test: QuotaScope = { ...live, environment: 'test' };
        expect(await sut.reserve(test, hold(100), NOW)).toEqual({ kind: 'not_loaded' });
        await sut.load(test, emptySnapshot());
        await sut.reserve(live, hold(100), NOW);
        expect(await sut.reserve(test, hold(1_000), NOW)).toMatchObject({ kind: 'held' });
        expect(await figures(test, ORG)).toMatchObject({ limit: null, reserved: 1_000 });
      });
    });

    describe('default user config', () => {
      it('caps a user without a config of its own from its first request', async () => {
        const scope = await given([], [['p1', cap(50, 'day')]]);
        expect(await sut.reserve(scope, hold(51, { userId: 'new-user' }), NOW)).toEqual({
          kind: 'refused',
          level: 'user',
          required: 51,
          available: 50,
        });
        expect(await figures(scope, user('new-user'))).toMatchObject({
          source: 'default',
          limit: 50,
          period: 'day',
          periodId: '2026-11-28',
        });
      });

      it('gives way to the user own config, and comes back when it is cleared', async () => {
        const scope = await given([[user('vip'), cap(500)]], [['p1', cap(50)]]);
        expect(await sut.reserve(scope, hold(400, { userId: 'vip' }), NOW)).toMatchObject({ kind: 'held' });
        await sut.configure(scope, user('vip'), null);
        expect(await figures(scope, user('vip'))).toMatchObject({ source: 'default', limit: 50, reserved: 400, available: 0 });
        await sut.configureDefaultUser(scope, 'p1', null);
        expect(await figures(scope, user('vip'))).toMatchObject({ source: 'none', limit: null });
      });

      it('holds exactly floor(cap / amount) of 200 concurrent first requests', async () => {
        const scope = await given([], [['p1', cap(1_000)]]);
        const outcomes = await Promise.all(Array.from({ length: 200 }, () => sut.reserve(scope, hold(7, { userId: 'first-timer' }), NOW)));
        expect(outcomes.filter((o) => o.kind === 'held')).toHaveLength(142);
        expect(outcomes.filter((o) => o.kind === 'refused' && o.level === 'user')).toHaveLength(58);
        expect(await figures(scope, user('first-timer'))).toMatchObject({ reserved: 994, available: 6 });
      });
    });

    describe('concurrency: 500 racing reserves against a level that funds exactly K', () => {
      const cases: [string, NodeRef, (i: number) => Partial<HoldSpec>][] = [
        ['org', ORG, (i) => ({ projectId: `p${i % 7}`, userId: `u${i}` })],
        ['project', project('p1'), (i) => ({ projectId: 'p1', userId: `u${i}` })],
        ['user', user('u1'), () => ({ projectId: 'p1', userId: 'u1' })],
      ];
      it.each(cases)('%s level: exactly K held, the rest refused there', async (level, node, spread) => {
        const K = 137;
        const amount = 3;
        const scope = await given([[node, cap(K * amount + amount - 1)]]);
        const outcomes = await Promise.all(Array.from({ length: 500 }, (_, i) => sut.reserve(scope, hold(amount, spread(i)), NOW)));
        expect(outcomes.filter((o) => o.kind === 'held')).toHaveLength(K);
        expect(outcomes.filter((o) => o.kind === 'refused' && o.level === level)).toHaveLength(500 - K);
        expect(await figures(scope, node)).toMatchObject({ reserved: K * amount, available: amount - 1 });
      });
    });

    describe('reserveBatch', () => {
      it('all_or_nothing holds every item when the sum fits', async () => {
        const scope = await given([[ORG, cap(300)]]);
        const items = [hold(100), hold(100, { userId: 'u2' }), hold(100, { projectId: 'p2' })];
        const outcome = await sut.reserveBatch(scope, items, 'all_or_nothing', NOW);
        expect(outcome).toMatchObject({ kind: 'decided', items: items.map((h) => ({ kind: 'held', holdId: h.holdId })) });
        expect(outcome.kind === 'decided' && outcome.items.map((i) => i.kind === 'held' && i.remaining.org)).toEqual([200, 100, 0]);
        expect(await figures(scope, ORG)).toMatchObject({ reserved: 300 });
      });

      it('all_or_nothing holds nothing when the items together do not fit, naming the first that does not', async () => {
        const scope = await given([
          [ORG, cap(1_000)],
          [user('u2'), cap(150)],
        ]);
        const items = [hold(100), hold(100, { userId: 'u2' }), hold(100, { userId: 'u2' }), hold(100)];
        expect(await sut.reserveBatch(scope, items, 'all_or_nothing', NOW)).toEqual({
          kind: 'refused',
          index: 2,
          holdId: items[2].holdId,
          level: 'user',
          required: 100,
          available: 50,
        });
        expect(await figures(scope, ORG)).toMatchObject({ reserved: 0 });
        // Nothing was held, so the same ids are free.
        expect(await sut.reserve(scope, items[0], NOW)).toMatchObject({ kind: 'held' });
      });

      it('all_or_nothing answers duplicate when an item is already active, holding nothing', async () => {
        const scope = await given();
        const first = hold(10);
        await sut.reserve(scope, first, NOW);
        const again = [hold(5), first];
        expect(await sut.reserveBatch(scope, again, 'all_or_nothing', NOW)).toMatchObject({
          kind: 'duplicate',
          index: 1,
          hold: { holdId: first.holdId, amount: 10 },
        });
        expect(await figures(scope, ORG)).toMatchObject({ reserved: 10 });
      });

      it('max_fundable holds, in order, each item that still fits and refuses the others with their level', async () => {
        const scope = await given([
          [ORG, cap(260)],
          [project('p2'), cap(40)],
        ]);
        const items = [hold(100), hold(100), hold(100), hold(30, { projectId: 'p2' }), hold(30, { projectId: 'p2' }), hold(50), hold(20)];
        const outcome = await sut.reserveBatch(scope, items, 'max_fundable', NOW);
        expect(outcome).toEqual({
          kind: 'decided',
          items: [
            expect.objectContaining({ kind: 'held', holdId: items[0].holdId, remaining: { org: 160, project: null, user: null } }),
            expect.objectContaining({ kind: 'held', holdId: items[1].holdId, remaining: { org: 60, project: null, user: null } }),
            { kind: 'refused', holdId: items[2].holdId, level: 'org', required: 100, available: 60 },
            expect.objectContaining({ kind: 'held', holdId: items[3].holdId, remaining: { org: 30, project: 10, user: null } }),
            { kind: 'refused', holdId: items[4].holdId, level: 'project', required: 30, available: 10 },
            { kind: 'refused', holdId: items[5].holdId, level: 'org', required: 50, available: 30 },
            expect.objectContaining({ kind: 'held', holdId: items[6].holdId, remaining: { org: 10, project: null, user: null } }),
          ],
        });
        expect(await figures(scope, ORG)).toMatchObject({ reserved: 250 });
        expect(await sut.commit(scope, items[3].holdId, 30, NOW)).toMatchObject({ kind: 'committed' });
        expect(await sut.release(scope, items[2].holdId)).toEqual({ kind: 'not_held' });
      });

      it('max_fundable reports an active item as duplicate and goes on', async () => {
        const scope = await given([[ORG, cap(100)]]);
        const first = hold(60);
        await sut.reserve(scope, first, NOW);
        const outcome = await sut.reserveBatch(scope, [first, hold(40)], 'max_fundable', NOW);
        expect(outcome).toMatchObject({
          kind: 'decided',
          items: [
            { kind: 'duplicate', hold: { amount: 60 } },
            { kind: 'held', remaining: { org: 0 } },
          ],
        });
      });

      it('refuses malformed batches before touching anything', async () => {
        const scope = await given();
        const h = hold(1);
        await expect(sut.reserveBatch(scope, [], 'all_or_nothing', NOW)).rejects.toMatchObject({ code: 'invalid_quota_request' });
        await expect(sut.reserveBatch(scope, [h, { ...h }], 'max_fundable', NOW)).rejects.toMatchObject({ code: 'invalid_quota_request' });
        await expect(
          sut.reserveBatch(
            scope,
            Array.from({ length: 101 }, () => hold(1)),
            'all_or_nothing',
            NOW,
          ),
        ).rejects.toMatchObject({ code: 'invalid_quota_request' });
        await expect(sut.reserveBatch(scope, [h], 'some' as never, NOW)).rejects.toMatchObject({ code: 'invalid_quota_request' });
        await expect(sut.reserveBatch(scope, [hold(1), hold(0)], 'max_fundable', NOW)).rejects.toMatchObject({ code: 'invalid_amount' });
        expect(await figures(scope, ORG)).toMatchObject({ reserved: 0 });
      });

      it('decides 100 items in one call', async () => {
        const scope = await given([[ORG, cap(5_000)]]);
        const outcome = await sut.reserveBatch(
          scope,
          Array.from({ length: 100 }, (_, i) => hold(100, { userId: `u${i}` })),
          'max_fundable',
          NOW,
        );
        expect(outcome.kind === 'decided' && outcome.items.filter((i) => i.kind === 'held').length).toBe(50);
      });
    });

    describe('commit', () => {
      it('charges a partial amount and returns the rest of the hold', async () => {
        const scope = await given([
          [ORG, cap(1_000)],
          [project(), cap(500, 'month')],
        ]);
        const h = hold(300);
        await sut.reserve(scope, h, NOW);
        expect(await sut.commit(scope, h.holdId, 120, NOW)).toEqual({
          kind: 'committed',
          charged: 120,
          held: 300,
          released: 180,
          overage: 0,
          hold: expect.objectContaining({ holdId: h.holdId, projectId: h.projectId, userId: h.userId, amount: 300, periods: NOW_PERIODS }),
        });
        expect(await figures(scope, ORG)).toMatchObject({ committed: 120, reserved: 0, available: 880 });
        expect(await figures(scope, project())).toMatchObject({ committed: 120, reserved: 0, available: 380, periodId: '2026-11' });
      });

      it('charges more than the hold when the caller says so, and reports the overage', async () => {
        const scope = await given([[ORG, cap(1_000)]]);
        const h = hold(100);
        await sut.reserve(scope, h, NOW);
        expect(await sut.commit(scope, h.holdId, 130, NOW)).toMatchObject({
          kind: 'committed',
          charged: 130,
          held: 100,
          released: 0,
          overage: 30,
        });
        expect(await figures(scope, ORG)).toMatchObject({ committed: 130, reserved: 0, available: 870 });
      });

      it.each([
        [{ kind: 'allow' } as const, 250, 150],
        [{ kind: 'cap_at_hold' } as const, 100, 0],
        [{ kind: 'up_to_percent', percent: 20 } as const, 120, 20],
        [{ kind: 'up_to_percent', percent: 0 } as const, 100, 0],
      ])('applies the overage rule %p to usage above the hold', async (rule, charged, overage) => {
        const scope = await given([[ORG, cap(1_000)]]);
        const h = hold(100);
        await sut.reserve(scope, h, NOW);
        expect(await sut.commit(scope, h.holdId, 250, NOW, rule)).toMatchObject({ kind: 'committed', charged, held: 100, overage });
        expect(await figures(scope, ORG)).toMatchObject({ committed: charged, reserved: 0 });
      });

      it('rounds the percentage allowance down and stays exact for large holds', async () => {
        const big = 2 ** 52 + 1;
        const scope = await given([[ORG, cap(MAX)]]);
        const h = hold(big);
        await sut.reserve(scope, h, NOW);
        const outcome = await sut.commit(scope, h.holdId, MAX, NOW, { kind: 'up_to_percent', percent: 50 });
        expect(outcome).toMatchObject({ kind: 'committed', charged: big + Math.floor((big - 1) / 2) });
      });

      it('refuses a malformed overage rule and changes nothing', async () => {
        const scope = await given([[ORG, cap(1_000)]]);
        const h = hold(100);
        await sut.reserve(scope, h, NOW);
        await expect(sut.commit(scope, h.holdId, 200, NOW, { kind: 'up_to_percent', percent: 1.5 })).rejects.toMatchObject({
          code: 'invalid_quota_request',
        });
        expect(await figures(scope, ORG)).toMatchObject({ committed: 0, reserved: 100 });
      });

      it('commits zero (nothing was used) as a release that is recorded as a commit', async () => {
        const scope = await given([[ORG, cap(1_000)]]);
        const h = hold(100);
        await sut.reserve(scope, h, NOW);
        expect(await sut.commit(scope, h.holdId, 0, NOW)).toMatchObject({
          kind: 'committed',
          charged: 0,
          held: 100,
          released: 100,
          overage: 0,
        });
        expect(await figures(scope, ORG)).toMatchObject({ committed: 0, reserved: 0 });
      });

      it('commits once: a second commit, a release or an extend finds nothing', async () => {
        const scope = await given([[ORG, cap(1_000)]]);
        const h = hold(100);
        await sut.reserve(scope, h, NOW);
        await sut.commit(scope, h.holdId, 100, NOW);
        expect(await sut.commit(scope, h.holdId, 100, NOW)).toEqual({ kind: 'not_held' });
        expect(await sut.release(scope, h.holdId)).toEqual({ kind: 'not_held' });
        expect(await sut.extend(scope, h.holdId, NOW.getTime() + 2 * HOUR, NOW)).toEqual({ kind: 'not_held' });
        expect(await figures(scope, ORG)).toMatchObject({ committed: 100, reserved: 0 });
      });

      it('charges the period the hold was admitted in, and a new day starts from zero with no reset', async () => {
        const lastMinute = at('2026-11-28T23:59:00Z');
        const nextDay = at('2026-11-29T00:01:00Z');
        const scope = await given([[project(), cap(100, 'day')]]);
        const a = hold(60, { expiresAtMs: nextDay.getTime() + HOUR });
        const b = hold(40, { expiresAtMs: nextDay.getTime() + HOUR });
        expect(await sut.reserve(scope, a, lastMinute)).toMatchObject({ kind: 'held', periods: { day: '2026-11-28' } });
        expect(await sut.reserve(scope, b, lastMinute)).toMatchObject({ kind: 'held', remaining: { project: 0 } });
        // Next day: the holds of yesterday still reserve, but nothing is committed today yet.
        expect(await figures(scope, project(), nextDay)).toMatchObject({
          periodId: '2026-11-29',
          committed: 0,
          reserved: 100,
          available: 0,
        });
        await sut.commit(scope, a.holdId, 60, nextDay);
        await sut.commit(scope, b.holdId, 40, nextDay);
        // Charged to the 28th: today is untouched and the whole limit is available.
        expect(await figures(scope, project(), nextDay)).toMatchObject({ committed: 0, reserved: 0, available: 100 });
        expect(await sut.reserve(scope, hold(100, { expiresAtMs: nextDay.getTime() + HOUR }), nextDay)).toMatchObject({
          kind: 'held',
          periods: { day: '2026-11-29' },
        });
      });

      it('counts what was committed today against today', async () => {
        const scope = await given([[user(), cap(100, 'day')]]);
        const h = hold(80);
        await sut.reserve(scope, h, NOW);
        await sut.commit(scope, h.holdId, 80, NOW);
        expect(await sut.reserve(scope, hold(21), NOW)).toEqual({ kind: 'refused', level: 'user', required: 21, available: 20 });
        const tomorrow = new Date(NOW.getTime() + 24 * HOUR);
        expect(await sut.reserve(scope, hold(100, { expiresAtMs: tomorrow.getTime() + HOUR }), tomorrow)).toMatchObject({ kind: 'held' });
      });

      it('rolls weeks and months on the ISO and calendar boundaries', async () => {
        const scope = await given([
          [project('weekly'), cap(100, 'week')],
          [project('monthly'), cap(100, 'month')],
        ]);
        const sunday = at('2026-11-29T23:00:00Z');
        const monday = at('2026-11-30T00:00:00Z');
        const december = at('2026-12-01T00:00:00Z');
        for (const projectId of ['weekly', 'monthly']) {
          const h = hold(100, { projectId, expiresAtMs: sunday.getTime() + HOUR });
          await sut.reserve(scope, h, sunday);
          await sut.commit(scope, h.holdId, 100, sunday);
        }
        expect(await sut.reserve(scope, hold(1, { projectId: 'weekly', expiresAtMs: monday.getTime() + HOUR }), monday)).toMatchObject({
          kind: 'held',
          periods: { week: '2026-W49' },
        });
        expect(await sut.reserve(scope, hold(1, { projectId: 'monthly', expiresAtMs: monday.getTime() + HOUR }), monday)).toMatchObject({
          kind: 'refused',
        });
        expect(await sut.reserve(scope, hold(1, { projectId: 'monthly', expiresAtMs: december.getTime() + HOUR }), december)).toMatchObject(
          {
            kind: 'held',
            periods: { month: '2026-12' },
          },
        );
      });

      it('never reopens a period: a clock that lags behind another counts in the newer one', async () => {
        const scope = await given([[project(), cap(100, 'day')]]);
        const h = hold(100, { expiresAtMs: at('2026-11-29T02:00:00Z').getTime() });
        await sut.reserve(scope, h, at('2026-11-29T00:00:00.010Z'));
        expect(await sut.reserve(scope, hold(1, { expiresAtMs: h.expiresAtMs }), at('2026-11-28T23:59:59.990Z'))).toMatchObject({
          kind: 'refused',
          level: 'project',
        });
      });

      it('does not commit an expired hold (the sweeper releases and records it)', async () => {
        const scope = await given([[ORG, cap(1_000)]]);
        const h = hold(100, { expiresAtMs: NOW.getTime() + 1_000 });
        await sut.reserve(scope, h, NOW);
        expect(await sut.commit(scope, h.holdId, 100, new Date(NOW.getTime() + 1_000))).toEqual({ kind: 'not_held' });
        expect(await figures(scope, ORG)).toMatchObject({ committed: 0, reserved: 100 });
      });
    });

    describe('adjust (provider usage corrections)', () => {
      const committedAt = async (scope: QuotaScope, now = NOW) =>
        Promise.all([ORG, project(), user()].map(async (node) => (await figures(scope, node, now)).committed));

      it('moves committed at org, project and user by a positive or negative delta, in the hold periods, leaving reserved', async () => {
        const scope = await given([
          [ORG, cap(1_000)],
          [project(), cap(500, 'month')],
          [user(), cap(300, 'day')],
        ]);
        const h = hold(100);
        await sut.reserve(scope, h, NOW);
        await sut.commit(scope, h.holdId, 80, NOW);
        await sut.reserve(scope, hold(10), NOW);
        expect(await sut.adjust(scope, { projectId: 'p1', userId: 'u1', periods: NOW_PERIODS, delta: 25 })).toEqual({ kind: 'adjusted' });
        expect(await committedAt(scope)).toEqual([105, 105, 105]);
        expect(await figures(scope, user())).toMatchObject({ reserved: 10, available: 300 - 105 - 10 });
        expect(await sut.adjust(scope, { projectId: 'p1', userId: 'u1', periods: NOW_PERIODS, delta: -45 })).toEqual({ kind: 'adjusted' });
        expect(await committedAt(scope)).toEqual([60, 60, 60]);
        // Above the limit is allowed (the usage happened); available then reads 0.
        await sut.adjust(scope, { projectId: 'p1', userId: 'u1', periods: NOW_PERIODS, delta: 400 });
        expect(await figures(scope, user())).toMatchObject({ committed: 460, available: 0 });
      });

      it('never takes a counter below zero, and takes nothing from a period the counter no longer counts', async () => {
        const scope = await given([[user(), cap(300, 'day')]]);
        const h = hold(100);
        await sut.reserve(scope, h, NOW);
        await sut.commit(scope, h.holdId, 50, NOW);
        const tomorrow = new Date(NOW.getTime() + 24 * HOUR);
        const t = hold(30, { expiresAtMs: tomorrow.getTime() + HOUR });
        await sut.reserve(scope, t, tomorrow);
        await sut.commit(scope, t.holdId, 30, tomorrow);
        // Yesterday's hold corrected today: the day counter counts tomorrow now, untouched; all-time moves.
        await sut.adjust(scope, { projectId: 'p1', userId: 'u1', periods: NOW_PERIODS, delta: -20 });
        expect(await figures(scope, user(), tomorrow)).toMatchObject({ period: 'day', committed: 30 });
        expect(await figures(scope, ORG, tomorrow)).toMatchObject({ period: 'none', committed: 60 });
        await sut.adjust(scope, { projectId: 'p1', userId: 'u1', periods: NOW_PERIODS, delta: -1_000 });
        expect(await figures(scope, ORG, tomorrow)).toMatchObject({ committed: 0 });
      });

      it('starts a counter for a node that had none (a commit of zero corrected upwards)', async () => {
        const scope = await given();
        const h = hold(100, { userId: 'u9' });
        await sut.reserve(scope, h, NOW);
        await sut.commit(scope, h.holdId, 0, NOW);
        await sut.adjust(scope, { projectId: 'p1', userId: 'u9', periods: NOW_PERIODS, delta: 70 });
        expect(await figures(scope, user('u9'))).toMatchObject({ committed: 70, reserved: 0 });
        expect(await figures(scope, ORG)).toMatchObject({ committed: 70 });
      });

      it('answers not_loaded for a scope it does not hold, and refuses a zero, fractional or unsafe delta or bad periods', async () => {
        expect(await sut.adjust(newScope(), { projectId: 'p1', userId: 'u1', periods: NOW_PERIODS, delta: 5 })).toEqual({
          kind: 'not_loaded',
        });
        const scope = await given();
        for (const delta of [0, 1.5, MAX + 1, Number.NaN]) {
          await expect(sut.adjust(scope, { projectId: 'p1', userId: 'u1', periods: NOW_PERIODS, delta })).rejects.toBeInstanceOf(
            QuotaError,
          );
        }
        await expect(
          sut.adjust(scope, { projectId: 'p1', userId: 'u1', periods: { ...NOW_PERIODS, week: '2026-11' }, delta: 5 }),
        ).rejects.toBeInstanceOf(QuotaError);
        await expect(sut.adjust(scope, { projectId: 'p|1', userId: 'u1', periods: NOW_PERIODS, delta: 5 })).rejects.toBeInstanceOf(
          QuotaError,
        );
        expect(await figures(scope, ORG)).toMatchObject({ committed: 0 });
      });

      it('refuses a positive delta that would pass 2^53-1 and changes nothing', async () => {
        const scope = await given();
        await sut.adjust(scope, { projectId: 'p1', userId: 'u1', periods: NOW_PERIODS, delta: MAX - 10 });
        await expect(sut.adjust(scope, { projectId: 'p1', userId: 'u1', periods: NOW_PERIODS, delta: 11 })).rejects.toMatchObject({
          code: 'amount_overflow',
        });
        expect(await committedAt(scope)).toEqual([MAX - 10, MAX - 10, MAX - 10]);
      });
    });

    describe('release and extend', () => {
      it('release returns the whole hold to every level', async () => {
        const scope = await given([
          [ORG, cap(1_000)],
          [project(), cap(500)],
          [user(), cap(200)],
        ]);
        const h = hold(150);
        await sut.reserve(scope, h, NOW);
        expect(await sut.release(scope, h.holdId)).toEqual({ kind: 'released', hold: { ...h, periods: NOW_PERIODS } });
        expect(await reserved(scope)).toEqual([0, 0, 0]);
        expect(await sut.release(scope, h.holdId)).toEqual({ kind: 'not_held' });
        expect(await sut.commit(scope, h.holdId, 10, NOW)).toEqual({ kind: 'not_held' });
      });

      it('commit, release and extend of an unknown hold find nothing', async () => {
        const scope = await given();
        expect(await sut.commit(scope, 'nope', 1, NOW)).toEqual({ kind: 'not_held' });
        expect(await sut.release(scope, 'nope')).toEqual({ kind: 'not_held' });
        expect(await sut.extend(scope, 'nope', NOW.getTime() + HOUR, NOW)).toEqual({ kind: 'not_held' });
      });

      it('extend moves the expiry of a live hold', async () => {
        const scope = await given();
        const h = hold(10, { expiresAtMs: NOW.getTime() + 1_000 });
        await sut.reserve(scope, h, NOW);
        const later = NOW.getTime() + 10_000;
        expect(await sut.extend(scope, h.holdId, later, NOW)).toEqual({
          kind: 'extended',
          hold: { ...h, expiresAtMs: later, periods: NOW_PERIODS },
        });
        expect(await sut.expireDue(scope, NOW.getTime() + 5_000, 100)).toEqual({ kind: 'expired', holds: [], more: false });
        expect(await sut.commit(scope, h.holdId, 10, new Date(NOW.getTime() + 5_000))).toMatchObject({ kind: 'committed' });
      });

      it('extend does not revive an expired hold', async () => {
        const scope = await given();
        const h = hold(10, { expiresAtMs: NOW.getTime() + 1_000 });
        await sut.reserve(scope, h, NOW);
        const late = new Date(NOW.getTime() + 2_000);
        expect(await sut.extend(scope, h.holdId, late.getTime() + HOUR, late)).toEqual({ kind: 'not_held' });
        await expect(sut.extend(scope, h.holdId, NOW.getTime() - 1, NOW)).rejects.toMatchObject({ code: 'invalid_quota_request' });
      });
    });

    describe('expiry', () => {
      it('expireDue releases only the due holds, oldest first, and returns them', async () => {
        const scope = await given([[ORG, cap(1_000)]]);
        const t = NOW.getTime();
        const [a, b, c] = [
          hold(10, { expiresAtMs: t + 2_000 }),
          hold(20, { expiresAtMs: t + 1_000, userId: 'u2' }),
          hold(40, { expiresAtMs: t + 5_000 }),
        ];
        for (const h of [a, b, c]) await sut.reserve(scope, h, NOW);
        const outcome = await sut.expireDue(scope, t + 2_000, 100);
        expect(outcome).toEqual({
          kind: 'expired',
          holds: [b, a].map((h) => ({ ...h, periods: NOW_PERIODS })),
          more: false,
        });
        expect(await figures(scope, ORG)).toMatchObject({ committed: 0, reserved: 40, available: 960 });
        expect(await sut.commit(scope, a.holdId, 10, NOW)).toEqual({ kind: 'not_held' });
        expect(await sut.release(scope, b.holdId)).toEqual({ kind: 'not_held' });
        expect(await sut.commit(scope, c.holdId, 40, NOW)).toMatchObject({ kind: 'committed' });
      });

      it('expireDue works in slices of max and says when more are due', async () => {
        const scope = await given();
        const t = NOW.getTime();
        for (let i = 1; i <= 5; i++) await sut.reserve(scope, hold(1, { expiresAtMs: t + i }), NOW);
        const first = await sut.expireDue(scope, t + 10, 3);
        expect(first).toMatchObject({ kind: 'expired', more: true });
        expect(first.kind === 'expired' && first.holds.map((h) => h.expiresAtMs)).toEqual([t + 1, t + 2, t + 3]);
        expect(await sut.expireDue(scope, t + 10, 3)).toMatchObject({
          kind: 'expired',
          more: false,
          holds: [{ expiresAtMs: t + 4 }, { expiresAtMs: t + 5 }],
        });
        expect(await figures(scope, ORG)).toMatchObject({ reserved: 0 });
      });

      it('lists a scope with due holds for the sweeper until they are expired', async () => {
        const scope = await given();
        const t = NOW.getTime();
        await sut.reserve(scope, hold(1, { expiresAtMs: t + 1_000 }), NOW);
        await sut.reserve(scope, hold(1, { expiresAtMs: t + 9_000 }), NOW);
        expect(await sut.scopesWithDueHolds(t + 500, 10_000)).not.toContainEqual(scope);
        expect(await sut.scopesWithDueHolds(t + 1_000, 10_000)).toContainEqual(scope);
        await sut.expireDue(scope, t + 1_000, 100);
        expect(await sut.scopesWithDueHolds(t + 1_000, 10_000)).not.toContainEqual(scope);
        expect(await sut.scopesWithDueHolds(t + 9_000, 10_000)).toContainEqual(scope);
      });

      it('a hold that is extended earlier, or reserved after the earliest, is still found', async () => {
        const scope = await given();
        const t = NOW.getTime();
        const late = hold(1, { expiresAtMs: t + 50_000 });
        await sut.reserve(scope, late, NOW);
        await sut.reserve(scope, hold(1, { expiresAtMs: t + 60_000 }), NOW);
        await sut.extend(scope, late.holdId, t + 2_000, NOW);
        expect(await sut.scopesWithDueHolds(t + 2_000, 10_000)).toContainEqual(scope);
        expect(await sut.expireDue(scope, t + 2_000, 10)).toMatchObject({ holds: [{ holdId: late.holdId }] });
        expect(await sut.scopesWithDueHolds(t + 60_000, 10_000)).toContainEqual(scope);
      });
    });

    describe('usage', () => {
      it('reports limit, committed of the current period, reserved and available per node, in the order asked', async () => {
        const scope = await given(
          [
            [ORG, cap(10_000)],
            [project('p1'), cap(1_000, 'month')],
            [user('u1'), cap(300, 'week')],
          ],
          [['p1', cap(100, 'day')]],
        );
        const a = hold(200);
        await sut.reserve(scope, a, NOW);
        await sut.commit(scope, a.holdId, 150, NOW);
        await sut.reserve(scope, hold(50), NOW);
        await sut.reserve(scope, hold(70, { userId: 'u2' }), NOW);
        const outcome = await sut.usage(scope, [user('u2'), user('u1'), project('p1'), ORG, project('idle')], NOW);
        expect(outcome).toEqual({
          kind: 'usage',
          nodes: [
            {
              node: user('u2'),
              source: 'default',
              limit: 100,
              period: 'day',
              periodId: '2026-11-28',
              committed: 0,
              reserved: 70,
              available: 30,
            },
            {
              node: user('u1'),
              source: 'own',
              limit: 300,
              period: 'week',
              periodId: '2026-W48',
              committed: 150,
              reserved: 50,
              available: 100,
            },
            {
              node: project('p1'),
              source: 'own',
              limit: 1_000,
              period: 'month',
              periodId: '2026-11',
              committed: 150,
              reserved: 120,
              available: 730,
            },
            { node: ORG, source: 'own', limit: 10_000, period: 'none', periodId: '', committed: 150, reserved: 120, available: 9_730 },
            {
              node: project('idle'),
              source: 'none',
              limit: null,
              period: 'none',
              periodId: '',
              committed: 0,
              reserved: 0,
              available: null,
            },
          ],
        });
      });

      it('sees a lowered limit at once and admits nothing more until there is room', async () => {
        const scope = await given([[ORG, cap(1_000)]]);
        await sut.reserve(scope, hold(600), NOW);
        await sut.configure(scope, ORG, cap(500));
        expect(await figures(scope, ORG)).toMatchObject({ limit: 500, reserved: 600, available: 0 });
        expect(await sut.reserve(scope, hold(1), NOW)).toMatchObject({ kind: 'refused', level: 'org', available: 0 });
      });
    });

    describe('reconfiguration keeps spend', () => {
      /** Commits `amount` on the node's path at `now` (held first). */
      async function spend(scope: QuotaScope, amount: number, now = NOW, over: Partial<HoldSpec> = {}): Promise<void> {
        const h = hold(amount, { expiresAtMs: now.getTime() + HOUR, ...over });
        expect(await sut.reserve(scope, h, now)).toMatchObject({ kind: 'held' });
        expect(await sut.commit(scope, h.holdId, amount, now)).toMatchObject({ kind: 'committed', charged: amount });
      }

      it('a period change counts what was already committed in the new period (month to week: the case of issue 8)', async () => {
        const scope = await given([[project(), cap(10_000_000, 'month')]]);
        await spend(scope, 8_000_000);
        expect(await sut.configure(scope, project(), cap(10_000_000, 'week'))).toEqual({ kind: 'configured' });
        expect(await figures(scope, project())).toMatchObject({
          period: 'week',
          periodId: '2026-W48',
          committed: 8_000_000,
          available: 2_000_000,
        });
        expect(await sut.reserve(scope, hold(8_000_000), NOW)).toEqual({
          kind: 'refused',
          level: 'project',
          required: 8_000_000,
          available: 2_000_000,
        });
      });

      it('every period change in every direction finds the spend of the new period', async () => {
        // 2026-11-28 is a Saturday: its ISO week 48 began on Monday the 23rd, in the same month.
        const monday = at('2026-11-23T09:00:00Z');
        const scope = await given([[user(), cap(1_000, 'none')]]);
        await spend(scope, 100, at('2026-11-02T09:00:00Z')); // this month, an earlier week
        await spend(scope, 20, monday); // this week, an earlier day
        await spend(scope, 3); // today
        const expected = { none: 123, month: 123, week: 23, day: 3 } as const;
        for (const from of ['none', 'day', 'week', 'month'] as const) {
          for (const to of ['none', 'day', 'week', 'month'] as const) {
            await sut.configure(scope, user(), cap(1_000, from));
            await sut.configure(scope, user(), cap(1_000, to));
            expect({ from, to, figures: await figures(scope, user()) }).toMatchObject({
              from,
              to,
              figures: { period: to, committed: expected[to], available: 1_000 - expected[to] },
            });
          }
        }
      });

      it('a limit raised or lowered, cleared and set again keeps the spend; lowered below it refuses new holds and keeps existing ones', async () => {
        const scope = await given([[ORG, cap(1_000)]]);
        await spend(scope, 600);
        const h = hold(300);
        await sut.reserve(scope, h, NOW);
        await sut.configure(scope, ORG, cap(500));
        expect(await figures(scope, ORG)).toMatchObject({ limit: 500, committed: 600, reserved: 300, available: 0 });
        expect(await sut.reserve(scope, hold(1), NOW)).toMatchObject({ kind: 'refused', level: 'org', available: 0 });
        await sut.configure(scope, ORG, null);
        expect(await figures(scope, ORG)).toMatchObject({ limit: null, committed: 600, reserved: 300 });
        await sut.configure(scope, ORG, cap(2_000, 'day'));
        expect(await figures(scope, ORG)).toMatchObject({ committed: 600, reserved: 300, available: 1_100 });
        expect(await sut.commit(scope, h.holdId, 300, NOW)).toMatchObject({ kind: 'committed' });
        expect(await figures(scope, ORG)).toMatchObject({ committed: 900, reserved: 0, available: 1_100 });
      });

      it('a default user cap set, changed and unset finds what users already spent', async () => {
        const scope = await given();
        await spend(scope, 70, NOW, { userId: 'a' });
        await sut.configureDefaultUser(scope, 'p1', cap(100, 'week'));
        expect(await figures(scope, user('a'))).toMatchObject({ source: 'default', committed: 70, available: 30 });
        expect(await sut.reserve(scope, hold(31, { userId: 'a' }), NOW)).toMatchObject({ kind: 'refused', level: 'user', available: 30 });
        await sut.configureDefaultUser(scope, 'p1', cap(80, 'day'));
        expect(await figures(scope, user('a'))).toMatchObject({ committed: 70, available: 10 });
        await sut.configure(scope, user('a'), cap(75, 'month'));
        expect(await figures(scope, user('a'))).toMatchObject({ source: 'own', committed: 70, available: 5 });
        await sut.configureDefaultUser(scope, 'p1', null);
        await sut.configure(scope, user('a'), null);
        expect(await figures(scope, user('a'))).toMatchObject({ source: 'none', committed: 70, available: null });
      });

      it('a hold admitted under one period kind is charged to the spend of every kind', async () => {
        const scope = await given([[project(), cap(1_000, 'day')]]);
        const h = hold(400);
        await sut.reserve(scope, h, NOW);
        await sut.configure(scope, project(), cap(1_000, 'month'));
        await sut.commit(scope, h.holdId, 250, NOW);
        expect(await figures(scope, project())).toMatchObject({ period: 'month', committed: 250, reserved: 0 });
        await sut.configure(scope, project(), cap(1_000, 'week'));
        expect(await figures(scope, project())).toMatchObject({ committed: 250 });
      });

      it('a commit whose period is over is not charged to the current one (the ledger keeps it)', async () => {
        const scope = await given([[project(), cap(100, 'day')]]);
        const old = hold(60, { expiresAtMs: at('2026-11-30T12:00:00Z').getTime() });
        await sut.reserve(scope, old, NOW);
        const nextDay = at('2026-11-29T12:00:00Z');
        await spend(scope, 10, nextDay);
        expect(await sut.commit(scope, old.holdId, 60, nextDay)).toMatchObject({ kind: 'committed', charged: 60 });
        expect(await figures(scope, project(), nextDay)).toMatchObject({ periodId: '2026-11-29', committed: 10 });
        await sut.configure(scope, project(), cap(100, 'week'));
        expect(await figures(scope, project(), nextDay)).toMatchObject({ periodId: '2026-W48', committed: 70 });
      });
    });

    describe('expired holds stop counting at once', () => {
      it('reserve, batch and usage never count a hold past its expiry, before any sweep', async () => {
        const scope = await given([[ORG, cap(100)]]);
        const h = hold(100, { expiresAtMs: NOW.getTime() + 1_000 });
        await sut.reserve(scope, h, NOW);
        const later = new Date(NOW.getTime() + 1_000);
        expect(await figures(scope, ORG, later)).toMatchObject({ reserved: 0, available: 100 });
        expect(await sut.reserve(scope, hold(100, { expiresAtMs: later.getTime() + HOUR }), later)).toMatchObject({ kind: 'held' });
        const scope2 = await given([[ORG, cap(100)]]);
        await sut.reserve(scope2, hold(100, { expiresAtMs: NOW.getTime() + 1_000 }), NOW);
        expect(
          await sut.reserveBatch(
            scope2,
            [hold(60, { expiresAtMs: later.getTime() + HOUR }), hold(40, { expiresAtMs: later.getTime() + HOUR })],
            'all_or_nothing',
            later,
          ),
        ).toMatchObject({ kind: 'decided' });
      });

      it('an expired hold can be neither committed, extended nor released, keeps its id, and the sweeper still records it once', async () => {
        const scope = await given([[ORG, cap(100)]]);
        const h = hold(100, { expiresAtMs: NOW.getTime() + 1_000 });
        await sut.reserve(scope, h, NOW);
        const later = new Date(NOW.getTime() + 2_000);
        expect(await figures(scope, ORG, later)).toMatchObject({ reserved: 0 });
        // Even by a clock that lags behind the one that saw it expire.
        expect(await sut.commit(scope, h.holdId, 100, NOW)).toEqual({ kind: 'not_held' });
        expect(await sut.extend(scope, h.holdId, later.getTime() + HOUR, NOW)).toEqual({ kind: 'not_held' });
        expect(await sut.release(scope, h.holdId)).toEqual({ kind: 'not_held' });
        expect(await sut.reserve(scope, { ...h, expiresAtMs: later.getTime() + HOUR }, later)).toMatchObject({
          kind: 'duplicate',
          hold: { holdId: h.holdId, amount: 100 },
        });
        expect(await sut.scopesWithDueHolds(later.getTime(), 10_000)).toContainEqual(scope);
        expect(await sut.expireDue(scope, later.getTime(), 10)).toEqual({
          kind: 'expired',
          holds: [{ ...h, periods: NOW_PERIODS }],
          more: false,
        });
        expect(await sut.expireDue(scope, later.getTime(), 10)).toEqual({ kind: 'expired', holds: [], more: false });
        expect(await figures(scope, ORG, later)).toMatchObject({ reserved: 0, available: 100 });
      });

      it('an extended hold counts until its new expiry', async () => {
        const scope = await given([[ORG, cap(100)]]);
        const h = hold(100, { expiresAtMs: NOW.getTime() + 1_000 });
        await sut.reserve(scope, h, NOW);
        await sut.extend(scope, h.holdId, NOW.getTime() + 5_000, NOW);
        expect(await figures(scope, ORG, new Date(NOW.getTime() + 4_999))).toMatchObject({ reserved: 100 });
        expect(await figures(scope, ORG, new Date(NOW.getTime() + 5_000))).toMatchObject({ reserved: 0 });
      });
    });

    describe('loading', () => {
      it('answers not_loaded to every operation before load, and never admits', async () => {
        const scope = newScope();
        const h = hold(1);
        expect(await sut.isLoaded(scope)).toBe(false);
        expect(await sut.reserve(scope, h, NOW)).toEqual({ kind: 'not_loaded' });
        expect(await sut.reserveBatch(scope, [h], 'max_fundable', NOW)).toEqual({ kind: 'not_loaded' });
        expect(await sut.commit(scope, h.holdId, 1, NOW)).toEqual({ kind: 'not_loaded' });
        expect(await sut.release(scope, h.holdId)).toEqual({ kind: 'not_loaded' });
        expect(await sut.extend(scope, h.holdId, NOW.getTime() + HOUR, NOW)).toEqual({ kind: 'not_loaded' });
        expect(await sut.expireDue(scope, NOW.getTime(), 10)).toEqual({ kind: 'not_loaded' });
        expect(await sut.usage(scope, [ORG], NOW)).toEqual({ kind: 'not_loaded' });
        expect(await sut.configure(scope, ORG, cap(10))).toEqual({ kind: 'not_loaded' });
        expect(await sut.configureDefaultUser(scope, 'p1', cap(10))).toEqual({ kind: 'not_loaded' });
        expect(await sut.isLoaded(scope)).toBe(false);
      });

      it('loads once: a second load is refused and changes nothing', async () => {
        const scope = newScope();
        expect(await sut.load(scope, { ...emptySnapshot(), nodes: [{ node: ORG, config: cap(100) }] })).toEqual({ kind: 'loaded' });
        expect(await sut.isLoaded(scope)).toBe(true);
        expect(await sut.load(scope, { ...emptySnapshot(), nodes: [{ node: ORG, config: cap(5) }] })).toEqual({ kind: 'already_loaded' });
        expect(await figures(scope, ORG)).toMatchObject({ limit: 100 });
      });

      it('rebuilds configs, holds and committed from a snapshot', async () => {
        const scope = newScope();
        const active: ActiveHold = { ...hold(100), periods: NOW_PERIODS };
        expect(
          await sut.load(scope, {
            nodes: [
              { node: ORG, config: cap(1_000) },
              { node: project(), config: cap(500, 'day') },
            ],
            defaultUserConfigs: [{ projectId: 'p1', config: cap(400, 'month') }],
            holds: [active],
            committed: [
              { node: ORG, periodId: '', amount: 300 },
              { node: project(), periodId: '2026-11-28', amount: 200 },
              { node: project(), periodId: '2026-11', amount: 450 },
              { node: user(), periodId: '2026-11', amount: 250 },
            ],
          }),
        ).toEqual({ kind: 'loaded' });
        expect(await figures(scope, ORG)).toMatchObject({ committed: 300, reserved: 100, available: 600 });
        expect(await figures(scope, project())).toMatchObject({ committed: 200, reserved: 100, available: 200 });
        expect(await figures(scope, user())).toMatchObject({ source: 'default', committed: 250, reserved: 100, available: 50 });
        expect(await sut.reserve(scope, hold(51), NOW)).toEqual({ kind: 'refused', level: 'user', required: 51, available: 50 });
        expect(await sut.commit(scope, active.holdId, 100, NOW)).toMatchObject({ kind: 'committed', charged: 100 });
        expect(await figures(scope, project())).toMatchObject({ committed: 300, reserved: 0, available: 200 });
      });

      it('lists the loaded holds for the sweeper', async () => {
        const scope = newScope();
        await sut.load(scope, { ...emptySnapshot(), holds: [{ ...hold(5, { expiresAtMs: NOW.getTime() + 10 }), periods: NOW_PERIODS }] });
        expect(await sut.scopesWithDueHolds(NOW.getTime() + 10, 10_000)).toContainEqual(scope);
        expect(await sut.expireDue(scope, NOW.getTime() + 10, 10)).toMatchObject({ holds: [{ amount: 5 }] });
      });

      it('refuses a snapshot whose totals would pass 2^53-1', async () => {
        const scope = newScope();
        const big = (id: string): ActiveHold => ({ ...hold(MAX, { holdId: id }), periods: NOW_PERIODS });
        await expect(sut.load(scope, { ...emptySnapshot(), holds: [big('a'), big('b')] })).rejects.toMatchObject({
          code: 'amount_overflow',
        });
        expect(await sut.isLoaded(scope)).toBe(false);
      });

      describe('in parts', () => {
        const userCaps = (from: number, to: number) =>
          Array.from({ length: to - from }, (_, i) => ({ node: user(`u${from + i}`), config: cap(10 + from + i, 'month') }));

        it('installs every page of user configs, and the scope is not loaded until the last one is in', async () => {
          const scope = newScope();
          const seenDuringLoad: string[] = [];
          async function* pages() {
            yield userCaps(0, 600);
            seenDuringLoad.push((await sut.reserve(scope, hold(1, { userId: 'u3' }), NOW)).kind);
            seenDuringLoad.push(String(await sut.isLoaded(scope)));
            yield userCaps(600, 1_200);
          }
          const snapshot = {
            ...emptySnapshot(),
            nodes: [{ node: ORG, config: cap(1_000_000) }],
            defaultUserConfigs: [{ projectId: 'p1', config: cap(5) }],
          };
          expect(await sut.load(scope, snapshot, pages())).toEqual({ kind: 'loaded' });
          expect(seenDuringLoad).toEqual(['not_loaded', 'false']);
          expect(await figures(scope, user('u3'))).toMatchObject({ source: 'own', limit: 13, period: 'month' });
          expect(await figures(scope, user('u1199'))).toMatchObject({ source: 'own', limit: 1_209 });
          expect(await figures(scope, user('someone-else'))).toMatchObject({ source: 'default', limit: 5 });
          expect(await sut.reserve(scope, hold(14, { userId: 'u3' }), NOW)).toMatchObject({
            kind: 'refused',
            level: 'user',
            available: 13,
          });
          expect(await figures(scope, ORG)).toMatchObject({ limit: 1_000_000, reserved: 0 });
        });

        it('lets one of two racing loads install the scope, never a mix of both', async () => {
          const scope = newScope();
          let resume!: () => void;
          const paused = new Promise<void>((resolve) => (resume = resolve));
          async function* slow() {
            yield [{ node: user('a'), config: cap(1) }];
            await paused;
            yield [{ node: user('b'), config: cap(1) }];
          }
          async function* other() {
            yield [{ node: user('c'), config: cap(2) }];
          }
          const first = sut.load(scope, { ...emptySnapshot(), nodes: [{ node: ORG, config: cap(100) }] }, slow());
          await new Promise((r) => setTimeout(r, 20));
          const second = await sut.load(scope, { ...emptySnapshot(), nodes: [{ node: ORG, config: cap(200) }] }, other());
          resume();
          const outcomes = [(await first).kind, second.kind];
          expect(outcomes.filter((k) => k === 'loaded')).toHaveLength(1);
          expect(outcomes.filter((k) => k !== 'loaded')).toEqual([expect.stringMatching(/^(busy|already_loaded)$/)]);
          const nodes = await Promise.all([ORG, user('a'), user('b'), user('c')].map((node) => figures(scope, node)));
          if (outcomes[0] === 'loaded') expect(nodes.map((n) => n.limit)).toEqual([100, 1, 1, null]);
          else expect(nodes.map((n) => n.limit)).toEqual([200, null, null, 2]);
        });

        it('gives the scope up when a page cannot be read, so the next load starts at once', async () => {
          const scope = newScope();
          async function* failing() {
            yield userCaps(0, 10);
            throw new Error('postgres went away');
          }
          await expect(sut.load(scope, emptySnapshot(), failing())).rejects.toThrow('postgres went away');
          expect(await sut.isLoaded(scope)).toBe(false);
          expect(await sut.reserve(scope, hold(1), NOW)).toEqual({ kind: 'not_loaded' });
          expect(await sut.load(scope, { ...emptySnapshot(), nodes: [{ node: ORG, config: cap(7) }] })).toEqual({ kind: 'loaded' });
          expect(await figures(scope, user('u1'))).toMatchObject({ source: 'none', limit: null });
          expect(await figures(scope, ORG)).toMatchObject({ limit: 7 });
        });
      });

      it('answers not_loaded again after the state is lost, until it is rebuilt', async () => {
        const scope = await given([[ORG, cap(100)]]);
        const h = hold(100);
        await sut.reserve(scope, h, NOW);
        await harness.forget(scope);
        expect(await sut.reserve(scope, hold(1), NOW)).toEqual({ kind: 'not_loaded' });
        expect(await sut.commit(scope, h.holdId, 1, NOW)).toEqual({ kind: 'not_loaded' });
        expect(await sut.load(scope, { ...emptySnapshot(), nodes: [{ node: ORG, config: cap(100) }] })).toEqual({ kind: 'loaded' });
        expect(await sut.reserve(scope, hold(100), NOW)).toMatchObject({ kind: 'held' });
      });
    });

    describe('unload', () => {
      it('drops a scope on request: not_loaded until rebuilt, and the rebuild is what counts', async () => {
        const scope = await given([[ORG, cap(100)]]);
        await sut.reserve(scope, hold(60), NOW);
        await sut.unload(scope);
        expect(await sut.isLoaded(scope)).toBe(false);
        expect(await sut.reserve(scope, hold(1), NOW)).toEqual({ kind: 'not_loaded' });
        expect(await sut.load(scope, { ...emptySnapshot(), nodes: [{ node: ORG, config: cap(100) }] })).toEqual({ kind: 'loaded' });
        // The hold of 60 was not in the snapshot: the whole 100 is available again.
        expect(await sut.reserve(scope, hold(100), NOW)).toMatchObject({ kind: 'held' });
      });
    });

    describe('validation', () => {
      const bad = [0, -1, 1.5, MAX + 1, Number.NaN, Number.POSITIVE_INFINITY, '5' as unknown as number];

      it.each(bad)('refuses a hold of %p micro-credits', async (amount) => {
        const scope = await given();
        await expect(sut.reserve(scope, hold(amount), NOW)).rejects.toMatchObject({ code: 'invalid_amount' });
        await expect(sut.reserveBatch(scope, [hold(amount)], 'all_or_nothing', NOW)).rejects.toMatchObject({ code: 'invalid_amount' });
        expect(await figures(scope, ORG)).toMatchObject({ reserved: 0 });
      });

      it.each([-1, 1.5, MAX + 1, Number.NaN])('refuses to commit %p', async (amount) => {
        const scope = await given();
        const h = hold(10);
        await sut.reserve(scope, h, NOW);
        await expect(sut.commit(scope, h.holdId, amount, NOW)).rejects.toMatchObject({ code: 'invalid_amount' });
        expect(await figures(scope, ORG)).toMatchObject({ reserved: 10, committed: 0 });
      });

      it('refuses negative, fractional and unsafe limits', async () => {
        const scope = await given();
        for (const limit of [-1, 0.5, MAX + 1]) await expect(sut.configure(scope, ORG, cap(limit))).rejects.toBeInstanceOf(QuotaError);
        await expect(sut.configure(scope, ORG, { limit: 1, period: 'year' as never })).rejects.toMatchObject({
          code: 'invalid_quota_request',
        });
      });

      it('refuses malformed ids, scopes, instants and expiries', async () => {
        const scope = await given();
        await expect(sut.reserve(scope, hold(1, { userId: 'a|b' }), NOW)).rejects.toMatchObject({ code: 'invalid_quota_request' });
        await expect(sut.reserve(scope, hold(1, { projectId: '' }), NOW)).rejects.toMatchObject({ code: 'invalid_quota_request' });
        await expect(sut.reserve(scope, hold(1, { holdId: 'x'.repeat(193) }), NOW)).rejects.toMatchObject({
          code: 'invalid_quota_request',
        });
        await expect(sut.reserve({ orgId: 'o{x}', environment: 'live' }, hold(1), NOW)).rejects.toMatchObject({
          code: 'invalid_quota_request',
        });
        await expect(sut.reserve({ ...scope, environment: 'prod' as never }, hold(1), NOW)).rejects.toMatchObject({
          code: 'invalid_quota_request',
        });
        await expect(sut.reserve(scope, hold(1), new Date(Number.NaN))).rejects.toMatchObject({ code: 'invalid_quota_request' });
        await expect(sut.reserve(scope, hold(1, { expiresAtMs: NOW.getTime() }), NOW)).rejects.toMatchObject({
          code: 'invalid_quota_request',
        });
      });

      it('accepts ids with colons, dots and dashes (the API alphabet)', async () => {
        const scope = await given([[user('u:1', 'p.1-x'), cap(5)]]);
        expect(await sut.reserve(scope, hold(6, { projectId: 'p.1-x', userId: 'u:1' }), NOW)).toMatchObject({
          kind: 'refused',
          level: 'user',
        });
        expect(await sut.reserve(scope, hold(5, { projectId: 'p.1-x', userId: 'u:1' }), NOW)).toMatchObject({ kind: 'held' });
        expect(await figures(scope, user('u', 'p.1-x:1'))).toMatchObject({ reserved: 0 });
      });

      it('holds up to 2^53-1 exactly and refuses to pass it, changing nothing', async () => {
        const scope = await given();
        expect(await sut.reserve(scope, hold(MAX - 1), NOW)).toMatchObject({ kind: 'held' });
        expect(await sut.reserve(scope, hold(1), NOW)).toMatchObject({ kind: 'held' });
        await expect(sut.reserve(scope, hold(1, { projectId: 'p2', userId: 'u9' }), NOW)).rejects.toMatchObject({
          code: 'amount_overflow',
        });
        expect(await figures(scope, ORG)).toMatchObject({ reserved: MAX });
        expect(await figures(scope, project('p2'))).toMatchObject({ reserved: 0 });
      });

      it('refuses a commit that would take committed past 2^53-1, keeping the hold', async () => {
        const scope = await given();
        const first = hold(MAX);
        await sut.reserve(scope, first, NOW);
        expect(await sut.commit(scope, first.holdId, MAX, NOW)).toMatchObject({ kind: 'committed' });
        const second = hold(1);
        await sut.reserve(scope, second, NOW);
        await expect(sut.commit(scope, second.holdId, 1, NOW)).rejects.toMatchObject({ code: 'amount_overflow' });
        expect(await figures(scope, ORG)).toMatchObject({ committed: MAX, reserved: 1 });
        expect(await sut.release(scope, second.holdId)).toMatchObject({ kind: 'released' });
      });
    });

    describe('budget alert thresholds (decided in the call that crosses them)', () => {
      const ALERTS = [80, 100];
      const crossing = (node: NodeRef, threshold: number, limit: number, used: number, period = 'none', periodId = '') => ({
        node,
        threshold,
        limit,
        used,
        period,
        periodId,
      });

      it('reports a threshold once, in the reserve that takes usage from below it to at or above it', async () => {
        const scope = await given([[ORG, cap(1_000)]]);
        const below = await sut.reserve(scope, hold(700), NOW, ALERTS);
        expect(below).toMatchObject({ kind: 'held' });
        expect(below).not.toHaveProperty('crossings');
        expect(await sut.reserve(scope, hold(100), NOW, ALERTS)).toMatchObject({ crossings: [crossing(ORG, 80, 1_000, 800)] });
        // Above 80% already, below 100%: nothing more to report.
        expect(await sut.reserve(scope, hold(50), NOW, ALERTS)).not.toHaveProperty('crossings');
        expect(await sut.reserve(scope, hold(150), NOW, ALERTS)).toMatchObject({ crossings: [crossing(ORG, 100, 1_000, 1_000)] });
      });

      it('counts committed as well as reserved (what admission counts against the limit), and rounds the mark up', async () => {
        const scope = await given([[project(), cap(999, 'month')]]);
        const h = hold(700);
        await sut.reserve(scope, h, NOW, ALERTS);
        await sut.commit(scope, h.holdId, 700, NOW);
        // 80% of 999 is 799.2: 799 is below it, 800 reaches it.
        expect(await sut.reserve(scope, hold(99), NOW, ALERTS)).not.toHaveProperty('crossings');
        expect(await sut.reserve(scope, hold(1), NOW, ALERTS)).toMatchObject({
          crossings: [crossing(project(), 80, 999, 800, 'month', '2026-11')],
        });
      });

      it('reports nothing without thresholds, without a limit, or when refused', async () => {
        const scope = await given([[user(), cap(100)]]);
        expect(await sut.reserve(scope, hold(90), NOW)).not.toHaveProperty('crossings');
        const unlimited = await given();
        expect(await sut.reserve(unlimited, hold(1_000), NOW, ALERTS)).not.toHaveProperty('crossings');
        const refused = await sut.reserve(scope, hold(20), NOW, ALERTS);
        expect(refused).toMatchObject({ kind: 'refused' });
        expect(refused).not.toHaveProperty('crossings');
      });

      it('reports every threshold one reservation crosses, each', async () => {
        const scope = await given([[ORG, cap(1_000)]]);
        expect(await sut.reserve(scope, hold(1_000), NOW, [50, 80, 100])).toMatchObject({
          crossings: [crossing(ORG, 50, 1_000, 1_000), crossing(ORG, 80, 1_000, 1_000), crossing(ORG, 100, 1_000, 1_000)],
        });
      });

      it('decides each level on its own limit and period', async () => {
        const scope = await given([
          [ORG, cap(10_000)],
          [project(), cap(1_000, 'day')],
          [user(), cap(100, 'month')],
        ]);
        expect(await sut.reserve(scope, hold(80), NOW, ALERTS)).toMatchObject({
          crossings: [crossing(user(), 80, 100, 80, 'month', '2026-11')],
        });
        expect(await sut.reserve(scope, hold(720, { userId: 'u2' }), NOW, ALERTS)).toMatchObject({
          crossings: [crossing(project(), 80, 1_000, 800, 'day', '2026-11-28')],
        });
        expect(await sut.reserve(scope, hold(7_200, { projectId: 'p2', userId: 'u9' }), NOW, ALERTS)).toMatchObject({
          crossings: [crossing(ORG, 80, 10_000, 8_000)],
        });
      });

      it('reports again after usage fell below (release) and rose back, and in the next period (the event id dedupes within one)', async () => {
        const scope = await given([[project(), cap(100, 'day')]]);
        const first = hold(80);
        expect(await sut.reserve(scope, first, NOW, ALERTS)).toMatchObject({ crossings: [{ threshold: 80, periodId: '2026-11-28' }] });
        await sut.release(scope, first.holdId);
        expect(await sut.reserve(scope, hold(80), NOW, ALERTS)).toMatchObject({ crossings: [{ threshold: 80, periodId: '2026-11-28' }] });
        const tomorrow = at('2026-11-29T08:00:00.000Z');
        expect(await sut.reserve(scope, hold(80, { expiresAtMs: tomorrow.getTime() + HOUR }), tomorrow, ALERTS)).toMatchObject({
          crossings: [{ threshold: 80, periodId: '2026-11-29', used: 80 }],
        });
      });

      it('N concurrent reserves crossing a threshold: exactly one reports it, at every level', async () => {
        const scope = await given([
          [ORG, cap(1_000)],
          [project(), cap(1_000)],
          [user(), cap(1_000)],
        ]);
        const outcomes = await Promise.all(Array.from({ length: 50 }, () => sut.reserve(scope, hold(20), NOW, [80])));
        expect(outcomes.every((o) => o.kind === 'held')).toBe(true);
        const reported = outcomes.flatMap((o) => (o.kind === 'held' ? (o.crossings ?? []) : []));
        expect(reported).toEqual([crossing(ORG, 80, 1_000, 800), crossing(project(), 80, 1_000, 800), crossing(user(), 80, 1_000, 800)]);
      });

      it('a batch reports the thresholds its items cross together, once per node', async () => {
        const scope = await given([
          [ORG, cap(1_000)],
          [user(), cap(300)],
        ]);
        const outcome = await sut.reserveBatch(scope, [hold(100), hold(100), hold(100)], 'all_or_nothing', NOW, ALERTS);
        expect(outcome).toMatchObject({ kind: 'decided', crossings: [crossing(user(), 80, 300, 300), crossing(user(), 100, 300, 300)] });
        expect(await sut.reserveBatch(scope, [hold(500, { userId: 'u2' })], 'max_fundable', NOW, ALERTS)).toMatchObject({
          crossings: [crossing(ORG, 80, 1_000, 800)],
        });
        expect(await sut.reserveBatch(scope, [hold(10, { userId: 'u2' })], 'max_fundable', NOW, ALERTS)).not.toHaveProperty('crossings');
      });

      it('a commit reports a threshold only when its charge above the hold (an overage) raises usage across it', async () => {
        const scope = await given([[user(), cap(100, 'day')]]);
        const within = hold(90);
        await sut.reserve(scope, within, NOW, ALERTS); // crosses 80 here
        expect(await sut.commit(scope, within.holdId, 50, NOW, undefined, undefined, ALERTS)).not.toHaveProperty('crossings');
        const over = hold(40);
        // 50 committed + 40 held: 80% again (the commit's release took usage below it).
        expect(await sut.reserve(scope, over, NOW, ALERTS)).toMatchObject({ crossings: [{ threshold: 80, used: 90 }] });
        expect(await sut.commit(scope, over.holdId, 60, NOW, { kind: 'allow' }, undefined, ALERTS)).toMatchObject({
          kind: 'committed',
          crossings: [crossing(user(), 100, 100, 110, 'day', '2026-11-28')],
        });
      });

      it('refuses thresholds that are not ascending integer percents from 1 to 100, changing nothing', async () => {
        const scope = await given([[ORG, cap(100)]]);
        for (const bad of [[100, 80], [0], [101], [50.5], [80, 80], Array.from({ length: 11 }, (_, i) => i + 1)]) {
          await expect(sut.reserve(scope, hold(10), NOW, bad)).rejects.toMatchObject({ code: 'invalid_quota_request' });
        }
        expect(await reserved(scope)).toEqual([0, 0, 0]);
      });
    });

    describe('property: no overspend under random interleavings', () => {
      it('decides as the model does under any reconfiguration and clock, keeps the spend, never counts an expired hold, and returns to 0', async () => {
        await fc.assert(
          fc.asyncProperty(quotaScenarioArbitrary({ reconfigure: true }), async (scenario) => {
            await runQuotaScenario(sut, newScope(), scenario);
          }),
          { numRuns: 60 },
        );
      }, 120_000);
    });
  });
}

// ---- the property test's scenario (exported for differential tests between adapters) ----

const PROJECTS = ['p1', 'p2'];
const USERS = ['u1', 'u2', 'u3'];
const ALL_NODES: NodeRef[] = [ORG, ...PROJECTS.map((p) => project(p)), ...PROJECTS.flatMap((p) => USERS.map((u) => user(u, p)))];

type ItemStep = { p: number; u: number; amount: number; ttl: number };
type Step =
  | ({ op: 'reserve' } & ItemStep)
  | { op: 'downgrade'; item: ItemStep; alternatives: number[] }
  | { op: 'batch'; policy: 'all_or_nothing' | 'max_fundable'; items: ItemStep[] }
  | { op: 'commit'; pick: number; permille: number }
  | { op: 'release'; pick: number }
  | { op: 'extend'; pick: number; ttl: number }
  | { op: 'expire' }
  | { op: 'tick'; ms: number }
  | { op: 'configure'; node: number; config: NodeConfig | null }
  | { op: 'default'; config: NodeConfig | null };

export interface QuotaScenario {
  configs: [NodeRef, NodeConfig][];
  defaultUser: NodeConfig | null;
  steps: Step[];
}

const limitArb = fc.option(fc.integer({ min: 0, max: 1_000 }), { nil: null, freq: 3 });
const configArb = fc.record({ limit: limitArb, period: fc.constantFrom<NodeConfig['period']>('none', 'day', 'week', 'month') });
const ttlArb = fc.oneof(fc.integer({ min: 1_000, max: 300_000 }), fc.integer({ min: 1_000, max: 12 * HOUR }));
const itemArb = fc.record({ p: fc.nat(1), u: fc.nat(2), amount: fc.integer({ min: 1, max: 400 }), ttl: ttlArb });
const DAY = 24 * HOUR;

/**
 * Random scenarios over 1 org, 2 projects and 3 users per project. The clock mostly moves
 * forward (across days, ISO weeks and months) and sometimes lags by up to two minutes, as
 * another instance's clock would. With `reconfigure`, limits, periods and the default user
 * config also change midway (then a lowered limit may legitimately sit below what is held).
 */
export function quotaScenarioArbitrary(options: { reconfigure: boolean }): fc.Arbitrary<QuotaScenario> {
  const steps: fc.WeightedArbitrary<Step>[] = [
    { weight: 5, arbitrary: itemArb.map((i) => ({ op: 'reserve' as const, ...i })) },
    {
      weight: 2,
      arbitrary: fc.record({
        op: fc.constant('downgrade' as const),
        item: itemArb,
        alternatives: fc.array(fc.integer({ min: 1, max: 400 }), { maxLength: 3 }),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        op: fc.constant('batch' as const),
        policy: fc.constantFrom('all_or_nothing' as const, 'max_fundable' as const),
        items: fc.array(itemArb, { minLength: 1, maxLength: 4 }),
      }),
    },
    // Per mille of the hold: fc.double would mostly draw tiny fractions, and commit nothing.
    {
      weight: 4,
      arbitrary: fc.record({
        op: fc.constant('commit' as const),
        pick: fc.nat(),
        permille: fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.constant(1000)),
      }),
    },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('release' as const), pick: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('extend' as const), pick: fc.nat(), ttl: ttlArb }) },
    { weight: 2, arbitrary: fc.constant({ op: 'expire' as const }) },
    {
      weight: 2,
      arbitrary: fc.record({
        op: fc.constant('tick' as const),
        ms: fc.oneof(fc.integer({ min: 1, max: 600_000 }), fc.integer({ min: 1, max: 10 * HOUR })),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        op: fc.constant('tick' as const),
        ms: fc.oneof(fc.integer({ min: DAY, max: 20 * DAY }), fc.integer({ min: -120_000, max: -1 })),
      }),
    },
  ];
  if (options.reconfigure) {
    steps.push(
      {
        weight: 1,
        arbitrary: fc.record({
          op: fc.constant('configure' as const),
          node: fc.nat(ALL_NODES.length - 1),
          config: fc.option(configArb, { nil: null }),
        }),
      },
      { weight: 1, arbitrary: fc.record({ op: fc.constant('default' as const), config: fc.option(configArb, { nil: null }) }) },
    );
  }
  return fc.record({
    configs: fc
      .tuple(...ALL_NODES.map(() => fc.option(configArb, { nil: null })))
      .map((configs) => configs.flatMap((config, i) => (config === null ? [] : [[ALL_NODES[i], config] as [NodeRef, NodeConfig]]))),
    defaultUser: fc.option(configArb, { nil: null }),
    steps: fc.array(fc.oneof(...steps), { minLength: 1, maxLength: 40 }),
  });
}

/** The reference the stores are checked against: configs, live and pruned holds, charges. */
interface ScenarioModel {
  own: Map<string, NodeConfig>;
  defaultUser: NodeConfig | null;
  live: Map<string, ActiveHold>;
  pruned: Set<string>;
  charges: { hold: ActiveHold; amount: number }[];
  mark: { day: string; week: string; month: string } | undefined;
}

const keyOf = (node: NodeRef) =>
  node.level === 'org' ? 'o' : node.level === 'project' ? `p|${node.projectId}` : `u|${node.projectId}|${node.userId}`;
const onPath = (node: NodeRef, h: { projectId: string; userId: string }) =>
  node.level === 'org' || (h.projectId === node.projectId && (node.level === 'project' || h.userId === node.userId));
const pathOf = (projectId: string, userId: string): NodeRef[] => [ORG, project(projectId), user(userId, projectId)];

function modelIds(model: ScenarioModel, now: number, move: boolean) {
  const clock = { day: periodId('day', new Date(now)), week: periodId('week', new Date(now)), month: periodId('month', new Date(now)) };
  const m = model.mark;
  const ids = m
    ? {
        day: m.day > clock.day ? m.day : clock.day,
        week: m.week > clock.week ? m.week : clock.week,
        month: m.month > clock.month ? m.month : clock.month,
      }
    : clock;
  if (move) model.mark = ids;
  return ids;
}

/** Holds past their expiry leave reserved at once (what reserve, batch and usage do first). */
function modelPrune(model: ScenarioModel, now: number): void {
  for (const hold of [...model.live.values()]) {
    if (hold.expiresAtMs <= now) {
      model.live.delete(hold.holdId);
      model.pruned.add(hold.holdId);
    }
  }
}

/** What the model says about a node: its config, and committed and reserved in its current period. */
function modelNode(model: ScenarioModel, node: NodeRef, ids: { day: string; week: string; month: string }, extra = 0) {
  const own = model.own.get(keyOf(node));
  const fallback = node.level === 'user' && node.projectId === 'p2' ? model.defaultUser : null;
  const config = own ?? fallback ?? null;
  const period = config?.period ?? 'none';
  const current = period === 'none' ? '' : ids[period];
  const committed = model.charges
    .filter((c) => onPath(node, c.hold) && (period === 'none' || c.hold.periods[period] === current))
    .reduce((sum, c) => sum + c.amount, 0);
  const reserved = [...model.live.values()].filter((h) => onPath(node, h)).reduce((sum, h) => sum + h.amount, 0) + extra;
  const limit = config?.limit ?? null;
  return {
    source: own ? 'own' : fallback ? 'default' : 'none',
    limit,
    period,
    periodId: current,
    committed,
    reserved,
    available: limit === null ? null : Math.max(0, limit - committed - reserved),
  };
}

/** The first short level of a hold of `amount` on the path, given what the decision already added there. */
function modelShort(
  model: ScenarioModel,
  spec: HoldSpec,
  amount: number,
  ids: { day: string; week: string; month: string },
  added: Map<string, number>,
) {
  const levels = ['org', 'project', 'user'] as const;
  for (const [i, node] of pathOf(spec.projectId, spec.userId).entries()) {
    const n = modelNode(model, node, ids, added.get(keyOf(node)) ?? 0);
    if (n.limit !== null && n.committed + n.reserved + amount > n.limit) return { level: levels[i], available: n.available! };
  }
  return null;
}

/**
 * Plays a scenario on a fresh scope against an independent model (configs, live and expired
 * holds, every commit with the periods its hold was admitted in), asserting every outcome the
 * model can predict: which holds are admitted or refused at which level (so committed +
 * reserved ≤ limit for everything admitted after any reconfiguration), and after every step
 * every node's figures: committed in its current period recomputed from the commits, reserved
 * from the live holds (an expired hold never counts), its config and period id. Ends by
 * releasing everything. Returns every outcome and figure, so two adapters can be compared.
 */
export async function runQuotaScenario(store: QuotaStore, scope: QuotaScope, scenario: QuotaScenario): Promise<unknown[]> {
  const log: unknown[] = [];
  const record = <T>(outcome: T): T => {
    log.push(outcome);
    return outcome;
  };
  expect(await store.load(scope, emptySnapshot())).toEqual({ kind: 'loaded' });
  const model: ScenarioModel = {
    own: new Map(),
    defaultUser: scenario.defaultUser,
    live: new Map(),
    pruned: new Set(),
    charges: [],
    mark: undefined,
  };
  for (const [node, config] of scenario.configs) {
    await store.configure(scope, node, config);
    model.own.set(keyOf(node), config);
  }
  if (scenario.defaultUser) await store.configureDefaultUser(scope, 'p2', scenario.defaultUser);

  let now = NOW.getTime();
  let n = 0;
  const pick = (i: number) => [...model.live.values()][i % model.live.size];
  const pickAny = (i: number) => {
    const all = [...model.live.keys(), ...model.pruned];
    return all[i % all.length];
  };
  const toSpec = (i: ItemStep): HoldSpec => ({
    holdId: `s${++n}`,
    projectId: PROJECTS[i.p],
    userId: USERS[i.u],
    amount: i.amount,
    expiresAtMs: now + i.ttl,
  });
  const admit = (spec: HoldSpec, ids: { day: string; week: string; month: string }) =>
    model.live.set(spec.holdId, { ...spec, periods: { ...ids } });

  for (const step of scenario.steps) {
    const date = new Date(now);
    switch (step.op) {
      case 'reserve':
      case 'downgrade': {
        const { alternatives, ...spec } =
          step.op === 'reserve' ? { ...toSpec(step), alternatives: undefined } : { ...toSpec(step.item), alternatives: step.alternatives };
        modelPrune(model, now);
        const ids = modelIds(model, now, true);
        const candidates = [spec.amount, ...(alternatives ?? [])];
        const choice = candidates.findIndex((amount) => modelShort(model, spec, amount, ids, new Map()) === null);
        const outcome = record(await store.reserve(scope, alternatives ? { ...spec, alternatives } : spec, date));
        if (choice >= 0) {
          expect({ step, outcome }).toMatchObject({ outcome: { kind: 'held', periods: ids, ...(alternatives ? { choice } : {}) } });
          admit({ ...spec, amount: candidates[choice] }, ids);
        } else {
          const short = modelShort(model, spec, spec.amount, ids, new Map())!;
          expect({ step, outcome }).toMatchObject({
            outcome: { kind: 'refused', level: short.level, required: spec.amount, available: short.available },
          });
        }
        break;
      }
      case 'batch': {
        const specs = step.items.map(toSpec);
        modelPrune(model, now);
        const ids = modelIds(model, now, true);
        const added = new Map<string, number>();
        const decided = specs.map((spec) => {
          const short = modelShort(model, spec, spec.amount, ids, added);
          if (!short)
            for (const node of pathOf(spec.projectId, spec.userId)) added.set(keyOf(node), (added.get(keyOf(node)) ?? 0) + spec.amount);
          return short;
        });
        const outcome = record(await store.reserveBatch(scope, specs, step.policy, date));
        const firstShort = decided.findIndex((d) => d !== null);
        if (step.policy === 'all_or_nothing' && firstShort >= 0) {
          expect({ step, outcome }).toMatchObject({ outcome: { kind: 'refused', index: firstShort, level: decided[firstShort]!.level } });
        } else {
          expect({ step, outcome }).toMatchObject({
            outcome: {
              kind: 'decided',
              items: decided.map((d) => (d ? { kind: 'refused', level: d.level, available: d.available } : { kind: 'held', periods: ids })),
            },
          });
          specs.forEach((spec, i) => decided[i] === null && admit(spec, ids));
        }
        break;
      }
      case 'commit': {
        if (model.live.size + model.pruned.size === 0) break;
        const id = pickAny(step.pick);
        const hold = model.live.get(id);
        const amount = hold ? Math.floor((hold.amount * step.permille) / 1000) : 1;
        const outcome = record(await store.commit(scope, id, amount, date));
        // A hold past its expiry (or already taken out of reserved by a newer clock) is not committed.
        if (!hold || hold.expiresAtMs <= now) expect({ step, outcome }).toEqual({ step, outcome: { kind: 'not_held' } });
        else {
          modelIds(model, now, true);
          expect({ step, outcome }).toMatchObject({
            outcome: { kind: 'committed', charged: amount, held: hold.amount, hold: { periods: hold.periods } },
          });
          model.live.delete(id);
          model.charges.push({ hold, amount });
        }
        break;
      }
      case 'release': {
        if (model.live.size + model.pruned.size === 0) break;
        const id = pickAny(step.pick);
        const hold = model.live.get(id);
        const outcome = record(await store.release(scope, id));
        if (!hold) expect({ step, outcome }).toEqual({ step, outcome: { kind: 'not_held' } });
        else {
          expect({ step, outcome }).toMatchObject({ outcome: { kind: 'released', hold: { amount: hold.amount } } });
          model.live.delete(id);
        }
        break;
      }
      case 'extend': {
        if (model.live.size === 0) break;
        const hold = pick(step.pick);
        const outcome = record(await store.extend(scope, hold.holdId, now + step.ttl, date));
        if (hold.expiresAtMs <= now) expect({ step, outcome }).toEqual({ step, outcome: { kind: 'not_held' } });
        else {
          expect(outcome.kind).toBe('extended');
          hold.expiresAtMs = now + step.ttl;
        }
        break;
      }
      case 'expire': {
        const outcome = record(await store.expireDue(scope, now, 10_000));
        if (outcome.kind !== 'expired') throw new Error(outcome.kind);
        modelPrune(model, now);
        expect(outcome.holds.map((h) => h.holdId).sort()).toEqual([...model.pruned].sort());
        model.pruned.clear();
        break;
      }
      case 'tick':
        now += step.ms;
        break;
      case 'configure':
        record(await store.configure(scope, ALL_NODES[step.node], step.config));
        if (step.config) model.own.set(keyOf(ALL_NODES[step.node]), step.config);
        else model.own.delete(keyOf(ALL_NODES[step.node]));
        break;
      case 'default':
        record(await store.configureDefaultUser(scope, 'p2', step.config));
        model.defaultUser = step.config;
        break;
    }
    const usage = await store.usage(scope, ALL_NODES, new Date(now));
    if (usage.kind !== 'usage') throw new Error(usage.kind);
    record(usage);
    modelPrune(model, now);
    const ids = modelIds(model, now, false);
    expect({ step, nodes: usage.nodes }).toEqual({ step, nodes: ALL_NODES.map((node) => ({ node, ...modelNode(model, node, ids) })) });
  }

  for (const hold of model.live.values()) expect(record(await store.release(scope, hold.holdId))).toMatchObject({ kind: 'released' });
  const end = record(await store.usage(scope, ALL_NODES, new Date(now)));
  if (end.kind !== 'usage') throw new Error(end.kind);
  expect(end.nodes.map((u) => u.reserved)).toEqual(ALL_NODES.map(() => 0));
  return log;
}
