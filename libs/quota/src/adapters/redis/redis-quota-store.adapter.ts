import { Logger } from '@nestjs/common';
import type { Cluster, Redis } from 'ioredis';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { holdNodes, nodeKey, nodeOfKey } from '../../domain/node-key';
import { Period, periodIds, periodOfId } from '../../domain/period';
import {
  ActiveHold,
  AdjustOutcome,
  Adjustment,
  BatchItemOutcome,
  BatchOutcome,
  BatchPolicy,
  CommitOutcome,
  ConfigureOutcome,
  ExpireOutcome,
  ExtendOutcome,
  HoldPeriods,
  HoldSpec,
  LoadOutcome,
  NodeConfig,
  NodeConfigPages,
  NodeRef,
  NodeUsage,
  NotLoaded,
  QuantityUpdate,
  QuotaLevel,
  QuotaScope,
  QuotaSnapshot,
  ReleaseOutcome,
  Remaining,
  ReserveOutcome,
  ThresholdCrossing,
  UsageOutcome,
} from '../../domain/quota';
import { QuotaError } from '../../domain/quota.error';
import {
  addExact,
  checkAdjustment,
  checkBatch,
  checkEpochMs,
  checkExpiry,
  checkHoldSpec,
  checkId,
  checkMax,
  checkNodeConfig,
  checkNodeRef,
  checkNonNegativeAmount,
  checkOverage,
  checkQuantityUpdates,
  checkNow,
  checkScope,
  checkSnapshot,
  checkThresholds,
  checkUsageNodes,
} from '../../domain/quota-validation';
import { QuotaStore } from '../../ports/quota-store.port';
import { OverageRule } from '../../domain/overage';
import {
  committedField,
  configField,
  defaultUserConfigField,
  encodeConfig,
  holdField,
  RedisQuotaKeys,
  reservedField,
} from './redis-quota-keys';

const SCRIPTS = {
  reserve: { file: 'reserve.lua', keys: 3 },
  reserveBatch: { file: 'reserve-batch.lua', keys: 3 },
  commit: { file: 'commit.lua', keys: 3 },
  adjust: { file: 'adjust.lua', keys: 1 },
  release: { file: 'release.lua', keys: 3 },
  extend: { file: 'extend.lua', keys: 3 },
  expireDue: { file: 'expire-due.lua', keys: 3 },
  configure: { file: 'configure.lua', keys: 1 },
  load: { file: 'load.lua', keys: 3 },
  loadBegin: { file: 'load-begin.lua', keys: 3 },
  loadPart: { file: 'load-part.lua', keys: 3 },
  usage: { file: 'usage.lua', keys: 3 },
  earliest: { file: 'earliest.lua', keys: 3 },
} as const;
type ScriptName = keyof typeof SCRIPTS;

function readScript(file: string): string {
  try {
    return readFileSync(join(__dirname, file), 'utf8');
  } catch (err) {
    // The .lua files are assets: a build must copy them next to the compiled adapter.
    throw new Error(
      `quota script ${file} not found next to ${__filename}: copy libs/quota/src/adapters/redis/*.lua into the build (${String(err)})`,
    );
  }
}

let sources: Record<ScriptName, string> | undefined;
function scriptSources(): Record<ScriptName, string> {
  if (!sources) {
    const lib = readScript('lib.lua');
    sources = Object.fromEntries(Object.entries(SCRIPTS).map(([name, { file }]) => [name, `${lib}\n${readScript(file)}`])) as Record<
      ScriptName,
      string
    >;
  }
  return sources;
}

const NOT_LOADED: NotLoaded = { kind: 'not_loaded' };

/** How long a load in parts may go without storing a part before another loader may take over. */
const LOAD_LEASE_MS = 30_000;

/** A snapshot as the scope hash's field/value pairs and the expiry zset's (score, member) pairs. */
function encodeSnapshot(snapshot: QuotaSnapshot): [Map<string, string>, string[]] {
  const hash = new Map<string, string>();
  for (const { node, config } of snapshot.nodes) hash.set(configField(node), encodeConfig(config));
  for (const { projectId, config } of snapshot.defaultUserConfigs) hash.set(defaultUserConfigField(projectId), encodeConfig(config));
  const reserved = new Map<string, number>();
  const expiries: string[] = [];
  for (const hold of snapshot.holds) {
    for (const node of holdNodes(hold.projectId, hold.userId)) {
      const key = nodeKey(node);
      reserved.set(key, addExact(reserved.get(key) ?? 0, hold.amount, `reserved of ${key}`));
    }
    const { day, week, month } = hold.periods;
    hash.set(holdField(hold.holdId), [hold.projectId, hold.userId, hold.amount, hold.expiresAtMs, day, week, month].join('|'));
    expiries.push(String(hold.expiresAtMs), hold.holdId);
  }
  for (const [key, total] of reserved) hash.set(reservedField(key), String(total));
  // The node's counters, packed as lib.lua reads them (checkSnapshot allows one per node and kind).
  const counters = new Map<string, Partial<Record<Period, string>>>();
  for (const { node, periodId, amount } of snapshot.committed) {
    const key = nodeKey(node);
    counters.set(key, {
      ...counters.get(key),
      [periodOfId(periodId)!]: periodOfId(periodId) === 'none' ? String(amount) : `${periodId}|${amount}`,
    });
  }
  for (const [key, c] of counters) hash.set(committedField(key), [c.day ?? '|0', c.week ?? '|0', c.month ?? '|0', c.none ?? '0'].join('|'));
  for (const { key, value } of snapshot.quantities ?? []) hash.set(`q|${key}`, value);
  return [hash, expiries];
}

/** A figure the scripts return: a decimal string within the safe range. */
function toAmount(value: unknown, what: string): number {
  const n = typeof value === 'string' && /^\d{1,16}$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) throw new QuotaError('quota_state_corrupt', `Redis returned ${String(value)} for ${what}.`);
  return n;
}

function toLeft(value: unknown, what: string): number | null {
  return value === '-' ? null : toAmount(value, what);
}

function parseHold(holdId: string, record: unknown): ActiveHold {
  const fields = typeof record === 'string' ? record.split('|') : [];
  if (fields.length !== 7) throw new QuotaError('quota_state_corrupt', `Hold ${holdId} is stored as '${String(record)}'.`);
  const [projectId, userId, amount, expiresAtMs, day, week, month] = fields;
  return {
    holdId,
    projectId,
    userId,
    amount: toAmount(amount, 'amount'),
    expiresAtMs: toAmount(expiresAtMs, 'expiry'),
    periods: { day, week, month },
  };
}

function periodsAndRemaining(reply: unknown[], at: number): { periods: HoldPeriods; remaining: Remaining } {
  const [day, week, month, orgLeft, projectLeft, userLeft] = reply.slice(at, at + 6) as string[];
  return {
    periods: { day, week, month },
    remaining: { org: toLeft(orgLeft, 'org left'), project: toLeft(projectLeft, 'project left'), user: toLeft(userLeft, 'user left') },
  };
}

/** The thresholds a script reports from reply[at] on, 6 entries each (lib.lua crossings); undefined: none. */
function parseCrossings(reply: unknown[], at: number): ThresholdCrossing[] | undefined {
  if (reply.length <= at) return undefined;
  if ((reply.length - at) % 6 !== 0) throw new QuotaError('quota_state_corrupt', `Redis returned ${reply.length - at} threshold entries.`);
  const crossings: ThresholdCrossing[] = [];
  for (let i = at; i + 6 <= reply.length; i += 6) {
    const [key, threshold, limit, used, period, periodId] = reply.slice(i, i + 6) as string[];
    const node = nodeOfKey(key);
    if (!node) throw new QuotaError('quota_state_corrupt', `Redis returned the node '${String(key)}'.`);
    crossings.push({
      node,
      threshold: toAmount(threshold, 'threshold'),
      limit: toAmount(limit, 'limit'),
      used: toAmount(used, 'used'),
      period: period as Period,
      periodId,
    });
  }
  return crossings;
}

/** `crossings` on an outcome only when something was crossed. */
function withCrossings<T extends object>(outcome: T, crossings: ThresholdCrossing[] | undefined): T {
  return crossings ? { ...outcome, crossings } : outcome;
}

/**
 * The quota store on Redis: one Lua script call per operation, every decision atomic inside
 * Redis, so any number of service instances share one consistent set of counters. Scripts are
 * registered with defineCommand (EVALSHA, falling back to EVAL after a NOSCRIPT).
 */
export class RedisQuotaStore extends QuotaStore {
  private readonly logger = new Logger(RedisQuotaStore.name);
  private readonly keys: RedisQuotaKeys;
  private readonly commands: Record<ScriptName, string>;

  constructor(
    private readonly redis: Redis | Cluster,
    prefix: string,
  ) {
    super();
    this.keys = new RedisQuotaKeys(prefix);
    const code = scriptSources();
    this.commands = {} as Record<ScriptName, string>;
    for (const name of Object.keys(SCRIPTS) as ScriptName[]) {
      this.commands[name] = `tollgateQuota_${name}`;
      redis.defineCommand(this.commands[name], { numberOfKeys: SCRIPTS[name].keys, lua: code[name] });
    }
  }

  async unload(scope: QuotaScope): Promise<void> {
    checkScope(scope);
    // Both keys share the scope's hash tag: one DEL, one slot.
    await this.redis.del(...this.keys.scope(scope));
  }

  async isLoaded(scope: QuotaScope): Promise<boolean> {
    checkScope(scope);
    return (await this.redis.hexists(this.keys.scope(scope)[0], 'loaded')) === 1;
  }

  async load(scope: QuotaScope, snapshot: QuotaSnapshot, pages?: NodeConfigPages): Promise<LoadOutcome> {
    checkScope(scope);
    checkSnapshot(snapshot);
    const [hash, expiries] = encodeSnapshot(snapshot);
    const keys = this.keys.scope(scope);
    const finish = async (token: string): Promise<LoadOutcome> => {
      const reply = await this.run('load', keys, [token, String(Date.now()), String(hash.size), ...[...hash].flat(), ...expiries]);
      if (reply[0] === 'already_loaded') return { kind: 'already_loaded' };
      if (reply[0] === 'busy' || reply[0] === 'lost') return { kind: 'busy' };
      await this.hintDue(scope, reply[1]);
      return { kind: 'loaded' };
    };
    if (!pages) return finish('');

    const token = randomUUID();
    const begun = await this.run('loadBegin', keys, [token, String(Date.now()), String(LOAD_LEASE_MS)]);
    if (begun[0] === 'already_loaded') return { kind: 'already_loaded' };
    if (begun[0] === 'busy') return { kind: 'busy' };
    try {
      for await (const page of pages) {
        checkSnapshot({ nodes: page, defaultUserConfigs: [], holds: [], committed: [] });
        const args = page.flatMap(({ node, config }) => [configField(node), encodeConfig(config)]);
        const stored = await this.run('loadPart', keys, [token, String(Date.now()), String(LOAD_LEASE_MS), 'store', ...args]);
        if (stored[0] === 'already_loaded') return { kind: 'already_loaded' };
        if (stored[0] === 'lost') return { kind: 'busy' };
      }
      return await finish(token);
    } catch (err) {
      // Give the lease up at once, so the next loader need not wait it out.
      await this.run('loadPart', keys, [token, String(Date.now()), String(LOAD_LEASE_MS), 'abort']).catch(() => undefined);
      throw err;
    }
  }

  async configure(scope: QuotaScope, node: NodeRef, config: NodeConfig | null): Promise<ConfigureOutcome> {
    checkScope(scope);
    checkNodeRef(node);
    if (config !== null) checkNodeConfig(config);
    const reply = await this.run('configure', [this.keys.scope(scope)[0]], [configField(node), config ? encodeConfig(config) : '']);
    return reply[0] === 'not_loaded' ? NOT_LOADED : { kind: 'configured' };
  }

  async configureDefaultUser(scope: QuotaScope, projectId: string, config: NodeConfig | null): Promise<ConfigureOutcome> {
    checkScope(scope);
    checkId('projectId', projectId);
    if (config !== null) checkNodeConfig(config);
    const reply = await this.run(
      'configure',
      [this.keys.scope(scope)[0]],
      [defaultUserConfigField(projectId), config ? encodeConfig(config) : ''],
    );
    return reply[0] === 'not_loaded' ? NOT_LOADED : { kind: 'configured' };
  }

  async reserve(scope: QuotaScope, hold: HoldSpec, now: Date, thresholds?: readonly number[]): Promise<ReserveOutcome> {
    checkScope(scope);
    checkNow(now);
    checkHoldSpec(hold, now);
    checkThresholds(thresholds);
    const ids = periodIds(now);
    const reply = await this.run('reserve', this.keys.scope(scope), [
      hold.holdId,
      hold.projectId,
      hold.userId,
      String(hold.amount),
      String(hold.expiresAtMs),
      String(now.getTime()),
      ids.day,
      ids.week,
      ids.month,
      (thresholds ?? []).join(','),
      ...(hold.alternatives ? [String(hold.alternatives.length), ...hold.alternatives.map(String)] : []),
    ]);
    switch (reply[0]) {
      case 'not_loaded':
        return NOT_LOADED;
      case 'duplicate':
        return { kind: 'duplicate', hold: parseHold(hold.holdId, reply[1]) };
      case 'refused': {
        const refusal = {
          kind: 'refused' as const,
          level: reply[1] as QuotaLevel,
          required: toAmount(reply[2], 'required'),
          available: toAmount(reply[3], 'available'),
        };
        return hold.alternatives ? { ...refusal, fitsUpTo: toLeft(reply[4], 'fits up to') } : refusal;
      }
      case 'held': {
        await this.hintDue(scope, reply[7]);
        const held = { kind: 'held' as const, holdId: hold.holdId, ...periodsAndRemaining(reply, 1) };
        return withCrossings(hold.alternatives ? { ...held, choice: toAmount(reply[8], 'choice') } : held, parseCrossings(reply, 9));
      }
      default:
        throw this.unexpected('reserve', reply);
    }
  }

  async reserveBatch(
    scope: QuotaScope,
    holds: HoldSpec[],
    policy: BatchPolicy,
    now: Date,
    thresholds?: readonly number[],
  ): Promise<BatchOutcome> {
    checkScope(scope);
    checkNow(now);
    checkBatch(holds, policy, now);
    checkThresholds(thresholds);
    const ids = periodIds(now);
    const items = holds.flatMap((h) => [h.holdId, h.projectId, h.userId, String(h.amount), String(h.expiresAtMs)]);
    const reply = await this.run('reserveBatch', this.keys.scope(scope), [
      policy,
      String(now.getTime()),
      ids.day,
      ids.week,
      ids.month,
      String(holds.length),
      ...items,
      ...(thresholds?.length ? [thresholds.join(',')] : []),
    ]);
    switch (reply[0]) {
      case 'not_loaded':
        return NOT_LOADED;
      case 'duplicate': {
        const index = toAmount(reply[1], 'index');
        return { kind: 'duplicate', index, hold: parseHold(holds[index].holdId, reply[2]) };
      }
      case 'refused': {
        const index = toAmount(reply[1], 'index');
        return {
          kind: 'refused',
          index,
          holdId: holds[index].holdId,
          level: reply[2] as QuotaLevel,
          required: toAmount(reply[3], 'required'),
          available: toAmount(reply[4], 'available'),
        };
      }
      case 'decided': {
        const end = 2 + holds.length * 7;
        if (reply.length < end || (reply.length - end) % 6 !== 0) throw this.unexpected('reserveBatch', reply);
        const outcomes: BatchItemOutcome[] = holds.map(({ holdId }, i) => {
          const at = 2 + i * 7;
          switch (reply[at]) {
            case 'held':
              return { kind: 'held', holdId, ...periodsAndRemaining(reply, at + 1) };
            case 'refused':
              return {
                kind: 'refused',
                holdId,
                level: reply[at + 1] as QuotaLevel,
                required: toAmount(reply[at + 2], 'required'),
                available: toAmount(reply[at + 3], 'available'),
              };
            case 'duplicate':
              return { kind: 'duplicate', holdId, hold: parseHold(holdId, reply[at + 1]) };
            default:
              throw this.unexpected('reserveBatch', reply);
          }
        });
        await this.hintDue(scope, reply[1]);
        return withCrossings({ kind: 'decided' as const, items: outcomes }, parseCrossings(reply, end));
      }
      default:
        throw this.unexpected('reserveBatch', reply);
    }
  }

  async commit(
    scope: QuotaScope,
    holdId: string,
    usage: number,
    now: Date,
    overage: OverageRule = { kind: 'allow' },
    quantities?: QuantityUpdate[],
    thresholds?: readonly number[],
  ): Promise<CommitOutcome> {
    checkScope(scope);
    checkId('holdId', holdId);
    checkNonNegativeAmount('amount', usage);
    checkNow(now);
    checkOverage(overage);
    checkThresholds(thresholds);
    if (quantities !== undefined) checkQuantityUpdates(quantities);
    const ids = periodIds(now);
    const rule = overage.kind === 'allow' ? 'allow' : overage.kind === 'cap_at_hold' ? 'cap' : 'pct';
    const percent = overage.kind === 'up_to_percent' ? String(overage.percent) : '0';
    const counters = quantities?.length
      ? [String(quantities.length), ...quantities.flatMap((q) => [q.key, q.expected ?? '-', q.next])]
      : [];
    const reply = await this.run('commit', this.keys.scope(scope), [
      holdId,
      String(usage),
      String(now.getTime()),
      ids.day,
      ids.week,
      ids.month,
      rule,
      percent,
      (thresholds ?? []).join(','),
      ...counters,
    ]);
    switch (reply[0]) {
      case 'not_loaded':
        return NOT_LOADED;
      case 'not_held':
        return { kind: 'not_held' };
      case 'stale': {
        const current: Record<string, string | null> = {};
        for (let i = 1; i + 1 < reply.length; i += 2) current[String(reply[i])] = reply[i + 1] === '-' ? null : String(reply[i + 1]);
        return { kind: 'stale', quantities: current };
      }
      case 'committed': {
        const charged = toAmount(reply[1], 'charged');
        const held = toAmount(reply[2], 'held');
        return withCrossings(
          {
            kind: 'committed' as const,
            charged,
            held,
            released: Math.max(0, held - charged),
            overage: Math.max(0, charged - held),
            hold: parseHold(holdId, reply[3]),
          },
          parseCrossings(reply, 4),
        );
      }
      default:
        throw this.unexpected('commit', reply);
    }
  }

  async adjust(scope: QuotaScope, adjustment: Adjustment): Promise<AdjustOutcome> {
    checkScope(scope);
    checkAdjustment(adjustment);
    const { projectId, userId, periods, delta } = adjustment;
    const [hash] = this.keys.scope(scope);
    const reply = await this.run(
      'adjust',
      [hash],
      [projectId, userId, periods.day, periods.week, periods.month, delta > 0 ? '+' : '-', String(Math.abs(delta))],
    );
    if (reply[0] === 'not_loaded') return NOT_LOADED;
    if (reply[0] === 'adjusted') return { kind: 'adjusted' };
    throw this.unexpected('adjust', reply);
  }

  async release(scope: QuotaScope, holdId: string): Promise<ReleaseOutcome> {
    checkScope(scope);
    checkId('holdId', holdId);
    const reply = await this.run('release', this.keys.scope(scope), [holdId]);
    switch (reply[0]) {
      case 'not_loaded':
        return NOT_LOADED;
      case 'not_held':
        return { kind: 'not_held' };
      case 'released':
        return { kind: 'released', hold: parseHold(holdId, reply[1]) };
      default:
        throw this.unexpected('release', reply);
    }
  }

  async extend(scope: QuotaScope, holdId: string, expiresAtMs: number, now: Date): Promise<ExtendOutcome> {
    checkScope(scope);
    checkId('holdId', holdId);
    checkNow(now);
    checkExpiry('expiresAtMs', expiresAtMs, now);
    const reply = await this.run('extend', this.keys.scope(scope), [holdId, String(expiresAtMs), String(now.getTime())]);
    switch (reply[0]) {
      case 'not_loaded':
        return NOT_LOADED;
      case 'not_held':
        return { kind: 'not_held' };
      case 'extended':
        await this.hintDue(scope, reply[2]);
        return { kind: 'extended', hold: parseHold(holdId, reply[1]) };
      default:
        throw this.unexpected('extend', reply);
    }
  }

  /**
   * After the script, the scope's entry in the due index is rebuilt: removed, then re-added
   * from the scope's earliest expiry read AFTER the removal. A reserve adds its hint after its
   * script, so whatever the interleaving, a hold admitted concurrently is either seen by the
   * re-read or re-hinted by its own reserve: no hold is left out of the index.
   */
  async expireDue(scope: QuotaScope, nowMs: number, max: number): Promise<ExpireOutcome> {
    checkScope(scope);
    checkEpochMs('nowMs', nowMs);
    checkMax('max', max, 10_000);
    const keys = this.keys.scope(scope);
    const reply = await this.run('expireDue', keys, [String(nowMs), String(max)]);
    const more = reply[0] === 'expired' && reply[1] === '1';
    if (!more) {
      await this.redis.zrem(this.keys.due, this.keys.dueMember(scope));
      const [earliest] = await this.run('earliest', keys, []);
      await this.hintDue(scope, earliest);
    }
    if (reply[0] === 'not_loaded') return NOT_LOADED;
    if (reply[0] !== 'expired' || reply.length % 2 !== 0) throw this.unexpected('expireDue', reply);
    const holds: ActiveHold[] = [];
    for (let i = 2; i < reply.length; i += 2) holds.push(parseHold(String(reply[i]), reply[i + 1]));
    return { kind: 'expired', holds, more };
  }

  async scopesWithDueHolds(nowMs: number, max: number): Promise<QuotaScope[]> {
    checkEpochMs('nowMs', nowMs);
    checkMax('max', max, 10_000);
    const members = await this.redis.zrangebyscore(this.keys.due, '-inf', String(nowMs), 'LIMIT', 0, max);
    return members.map((m) => this.keys.scopeOfDueMember(m)).filter((s): s is QuotaScope => s !== null);
  }

  async usage(scope: QuotaScope, nodes: NodeRef[], now: Date): Promise<UsageOutcome> {
    checkScope(scope);
    checkUsageNodes(nodes);
    checkNow(now);
    const ids = periodIds(now);
    const args = nodes.flatMap((n) => [n.level, n.level === 'org' ? '' : n.projectId, n.level === 'user' ? n.userId : '']);
    const reply = await this.run('usage', this.keys.scope(scope), [
      ids.day,
      ids.week,
      ids.month,
      String(nodes.length),
      ...args,
      String(now.getTime()),
    ]);
    if (reply[0] === 'not_loaded') return NOT_LOADED;
    if (reply[0] !== 'usage' || reply.length !== 1 + nodes.length * 7) throw this.unexpected('usage', reply);
    return {
      kind: 'usage',
      nodes: nodes.map((node, i) => {
        const [source, limit, period, periodId, committed, reserved, available] = reply.slice(1 + i * 7, 8 + i * 7) as string[];
        return {
          node: { ...node },
          source: source as NodeUsage['source'],
          limit: toLeft(limit, 'limit'),
          period: period as Period,
          periodId,
          committed: toAmount(committed, 'committed'),
          reserved: toAmount(reserved, 'reserved'),
          available: toLeft(available, 'available'),
        };
      }),
    };
  }

  /**
   * Lowers the scope's score in the due index (ZADD LT). It runs after the script that made
   * the hold: the hold exists either way, so a failure here is logged, not thrown — the
   * next reserve in the scope re-hints an overdue hold (see due_hint in lib.lua).
   */
  private async hintDue(scope: QuotaScope, hint: unknown): Promise<void> {
    if (typeof hint !== 'string' || hint === '') return;
    try {
      await this.redis.zadd(this.keys.due, 'LT', hint, this.keys.dueMember(scope));
    } catch (err) {
      this.logger.warn(`due index not updated for ${this.keys.dueMember(scope)}: ${(err as Error).message}`);
    }
  }

  private async run(name: ScriptName, keys: string[], args: string[]): Promise<unknown[]> {
    const command = (this.redis as unknown as Record<string, (...a: string[]) => Promise<unknown>>)[this.commands[name]];
    let reply: unknown;
    try {
      reply = await command.call(this.redis, ...keys, ...args);
    } catch (err) {
      throw this.scriptError(err);
    }
    return Array.isArray(reply) ? reply : [reply];
  }

  /** Script errors raised with fail() in lib.lua; anything else (connection) passes through. */
  private scriptError(err: unknown): unknown {
    const message = err instanceof Error ? err.message : String(err);
    const match = /QUOTA_(OVERFLOW|CORRUPT|BAD_ARGUMENT) ([^]*?)(?: script: |$)/.exec(message);
    if (!match) return err;
    const [, code, detail] = match;
    if (code === 'OVERFLOW') return new QuotaError('amount_overflow', `${detail} would pass 2^53-1 micro-credits; nothing changed.`);
    if (code === 'CORRUPT')
      return new QuotaError('quota_state_corrupt', `Quota state is inconsistent (${detail}); rebuild the scope from the ledger.`);
    return new QuotaError('invalid_quota_request', `Redis refused the argument ${detail}.`);
  }

  private unexpected(operation: string, reply: unknown[]): Error {
    return new Error(`quota ${operation}: unexpected reply from Redis: ${JSON.stringify(reply).slice(0, 200)}`);
  }
}
