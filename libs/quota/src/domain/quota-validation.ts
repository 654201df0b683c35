import { OverageRule } from './overage';
import { isValidInstant, PERIODS, periodOfId } from './period';
import {
  ActiveHold,
  Adjustment,
  BATCH_POLICIES,
  BatchPolicy,
  HoldSpec,
  MAX_ALERT_THRESHOLDS,
  MAX_ALTERNATIVES,
  MAX_BATCH_ITEMS,
  MAX_QUANTITY_UPDATES,
  MAX_USAGE_NODES,
  NodeConfig,
  NodeRef,
  QUOTA_ENVIRONMENTS,
  QuantityUpdate,
  QuotaScope,
  QuotaSnapshot,
} from './quota';
import { QuotaError } from './quota.error';
import { CALENDAR_KINDS } from './period-counters';
import { nodeKey } from './node-key';

/**
 * The port's boundary checks, shared by every adapter so they refuse the same inputs. Ids use
 * the API's client id alphabet, which never contains `|`, the stores' separator.
 */
export const QUOTA_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Hold ids are derived, not chosen: a reservation id is `res_` + 24 + `.` + the organization id
 * (up to 128), 157 characters at most, so they get more room than client ids (same alphabet).
 */
export const HOLD_ID_MAX_LENGTH = 192;
const HOLD_ID_PATTERN = new RegExp(`^[A-Za-z0-9._:-]{1,${HOLD_ID_MAX_LENGTH}}$`);

export function isAmount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value);
}

/** A hold: a positive safe integer. */
export function checkHoldAmount(field: string, value: unknown): void {
  if (!isAmount(value) || value <= 0) throw QuotaError.invalidAmount(field, value);
}

/** A charge, a limit or a committed figure: zero is allowed. */
export function checkNonNegativeAmount(field: string, value: unknown): void {
  if (!isAmount(value) || value < 0) throw QuotaError.invalidAmount(field, value);
}

/** A client id (organization, project, user) or, for a field named `holdId`, a hold id. */
export function checkId(field: string, value: unknown): void {
  if (field === 'holdId' || field.endsWith('.holdId')) {
    if (typeof value !== 'string' || !HOLD_ID_PATTERN.test(value))
      throw QuotaError.invalid(field, `must be 1-${HOLD_ID_MAX_LENGTH} characters of A-Z a-z 0-9 . _ : -`);
    return;
  }
  if (typeof value !== 'string' || !QUOTA_ID_PATTERN.test(value))
    throw QuotaError.invalid(field, 'must be 1-128 characters of A-Z a-z 0-9 . _ : -');
}

export function checkScope(scope: QuotaScope): void {
  checkId('orgId', scope?.orgId);
  if (!QUOTA_ENVIRONMENTS.includes(scope.environment)) throw QuotaError.invalid('environment', "must be 'live' or 'test'");
}

export function checkNow(now: Date): void {
  if (!isValidInstant(now)) throw QuotaError.invalid('now', 'must be a valid Date between the years 2000 and 9000');
}

export function checkEpochMs(field: string, value: unknown): void {
  if (!isAmount(value) || value <= 0) throw QuotaError.invalid(field, 'must be a positive integer of epoch milliseconds');
}

/** A hold must still be alive when it is created or extended. */
export function checkExpiry(field: string, expiresAtMs: unknown, now: Date): void {
  checkEpochMs(field, expiresAtMs);
  if ((expiresAtMs as number) <= now.getTime()) throw QuotaError.invalid(field, 'must be after now');
}

export function checkMax(field: string, value: unknown, ceiling: number): void {
  if (!isAmount(value) || value < 1 || value > ceiling) throw QuotaError.invalid(field, `must be an integer from 1 to ${ceiling}`);
}

export function checkNodeRef(node: NodeRef, field = 'node'): void {
  switch (node?.level) {
    case 'org':
      return;
    case 'project':
      return checkId(`${field}.projectId`, node.projectId);
    case 'user':
      checkId(`${field}.projectId`, node.projectId);
      return checkId(`${field}.userId`, node.userId);
    default:
      throw QuotaError.invalid(`${field}.level`, "must be 'org', 'project' or 'user'");
  }
}

export function checkNodeConfig(config: NodeConfig, field = 'config'): void {
  if (config === null || typeof config !== 'object') throw QuotaError.invalid(field, 'must be an object');
  if (config.limit !== null) checkNonNegativeAmount(`${field}.limit`, config.limit);
  if (!PERIODS.includes(config.period)) throw QuotaError.invalid(`${field}.period`, "must be 'none', 'day', 'week' or 'month'");
}

export function checkHoldSpec(hold: HoldSpec, now: Date, field = 'hold'): void {
  if (hold === null || typeof hold !== 'object') throw QuotaError.invalid(field, 'must be an object');
  checkId(`${field}.holdId`, hold.holdId);
  checkId(`${field}.projectId`, hold.projectId);
  checkId(`${field}.userId`, hold.userId);
  checkHoldAmount(`${field}.amount`, hold.amount);
  checkExpiry(`${field}.expiresAtMs`, hold.expiresAtMs, now);
  if (hold.alternatives !== undefined) {
    if (!Array.isArray(hold.alternatives) || hold.alternatives.length > MAX_ALTERNATIVES) {
      throw QuotaError.invalid(`${field}.alternatives`, `must be a list of at most ${MAX_ALTERNATIVES} amounts`);
    }
    hold.alternatives.forEach((amount, i) => checkHoldAmount(`${field}.alternatives[${i}]`, amount));
  }
}

/** Budget alert thresholds: at most MAX_ALERT_THRESHOLDS ascending integer percents from 1 to 100. */
export function checkThresholds(thresholds: readonly number[] | undefined): void {
  if (thresholds === undefined) return;
  if (
    !Array.isArray(thresholds) ||
    thresholds.length > MAX_ALERT_THRESHOLDS ||
    !thresholds.every((p, i) => Number.isInteger(p) && p >= 1 && p <= 100 && (i === 0 || p > thresholds[i - 1]))
  ) {
    throw QuotaError.invalid('thresholds', `must be at most ${MAX_ALERT_THRESHOLDS} ascending integers from 1 to 100`);
  }
}

export function checkBatch(holds: HoldSpec[], policy: BatchPolicy, now: Date): void {
  if (!BATCH_POLICIES.includes(policy)) throw QuotaError.invalid('policy', "must be 'all_or_nothing' or 'max_fundable'");
  if (!Array.isArray(holds) || holds.length === 0 || holds.length > MAX_BATCH_ITEMS) {
    throw QuotaError.invalid('holds', `must hold 1 to ${MAX_BATCH_ITEMS} items`);
  }
  const ids = new Set<string>();
  holds.forEach((hold, i) => {
    checkHoldSpec(hold, now, `holds[${i}]`);
    if (hold.alternatives !== undefined) throw QuotaError.invalid(`holds[${i}].alternatives`, 'are for a single reserve, not a batch');
    if (ids.has(hold.holdId)) throw QuotaError.invalid(`holds[${i}].holdId`, 'appears twice in the batch');
    ids.add(hold.holdId);
  });
}

export function checkUsageNodes(nodes: NodeRef[]): void {
  if (!Array.isArray(nodes) || nodes.length > MAX_USAGE_NODES)
    throw QuotaError.invalid('nodes', `must be at most ${MAX_USAGE_NODES} nodes`);
  nodes.forEach((node, i) => checkNodeRef(node, `nodes[${i}]`));
}

/** An adjustment (see QuotaStore.adjust): the hold's nodes and periods, a non-zero exact delta. */
export function checkAdjustment(adjustment: Adjustment): void {
  if (adjustment === null || typeof adjustment !== 'object') throw QuotaError.invalid('adjustment', 'must be an object');
  checkId('adjustment.projectId', adjustment.projectId);
  checkId('adjustment.userId', adjustment.userId);
  checkPeriods(adjustment.periods, 'adjustment');
  const { delta } = adjustment;
  if (typeof delta !== 'number' || !Number.isSafeInteger(delta) || delta === 0) throw QuotaError.invalidAmount('adjustment.delta', delta);
}

function checkPeriods(periods: ActiveHold['periods'], field: string): void {
  for (const kind of CALENDAR_KINDS) {
    if (typeof periods?.[kind] !== 'string' || periodOfId(periods[kind]) !== kind) {
      throw QuotaError.invalid(`${field}.periods.${kind}`, `must be a ${kind} id`);
    }
  }
}

function checkActiveHold(hold: ActiveHold, field: string): void {
  checkId(`${field}.holdId`, hold.holdId);
  checkId(`${field}.projectId`, hold.projectId);
  checkId(`${field}.userId`, hold.userId);
  checkHoldAmount(`${field}.amount`, hold.amount);
  checkEpochMs(`${field}.expiresAtMs`, hold.expiresAtMs);
  checkPeriods(hold.periods, field);
}

/** Shape only; sums are checked by the adapters as they build their state. */
export function checkSnapshot(snapshot: QuotaSnapshot): void {
  if (snapshot === null || typeof snapshot !== 'object') throw QuotaError.invalid('snapshot', 'must be an object');
  const seen = new Set<string>();
  snapshot.nodes.forEach(({ node, config }, i) => {
    checkNodeRef(node, `snapshot.nodes[${i}].node`);
    checkNodeConfig(config, `snapshot.nodes[${i}].config`);
  });
  snapshot.defaultUserConfigs.forEach(({ projectId, config }, i) => {
    checkId(`snapshot.defaultUserConfigs[${i}].projectId`, projectId);
    checkNodeConfig(config, `snapshot.defaultUserConfigs[${i}].config`);
  });
  snapshot.holds.forEach((hold, i) => {
    checkActiveHold(hold, `snapshot.holds[${i}]`);
    if (seen.has(hold.holdId)) throw QuotaError.invalid(`snapshot.holds[${i}].holdId`, 'appears twice');
    seen.add(hold.holdId);
  });
  (snapshot.quantities ?? []).forEach(({ key, value }, i) => {
    if (typeof key !== 'string' || !QUANTITY_KEY.test(key))
      throw QuotaError.invalid(`snapshot.quantities[${i}].key`, 'must be a key without spaces');
    if (typeof value !== 'string' || !QUANTITY_VALUE.test(value))
      throw QuotaError.invalid(`snapshot.quantities[${i}].value`, 'must be a plain decimal');
  });
  const counters = new Set<string>();
  snapshot.committed.forEach(({ node, periodId, amount }, i) => {
    checkNodeRef(node, `snapshot.committed[${i}].node`);
    const kind = typeof periodId === 'string' ? periodOfId(periodId) : null;
    if (kind === null) throw QuotaError.invalid(`snapshot.committed[${i}].periodId`, 'must be a period id');
    checkNonNegativeAmount(`snapshot.committed[${i}].amount`, amount);
    const counter = `${nodeKey(node)}|${kind}`;
    if (counters.has(counter)) throw QuotaError.invalid(`snapshot.committed[${i}]`, `${nodeKey(node)} has a ${kind} counter twice`);
    counters.add(counter);
  });
}

const QUANTITY_KEY = /^[^\s|][^\s]{0,255}$/;
const QUANTITY_VALUE = /^\d{1,30}(\.\d{1,30})?$/;

export function checkQuantityUpdates(updates: QuantityUpdate[]): void {
  if (!Array.isArray(updates) || updates.length > MAX_QUANTITY_UPDATES)
    throw QuotaError.invalid('quantities', `must be a list of at most ${MAX_QUANTITY_UPDATES}`);
  const keys = new Set<string>();
  updates.forEach(({ key, expected, next }, i) => {
    if (typeof key !== 'string' || !QUANTITY_KEY.test(key) || keys.has(key))
      throw QuotaError.invalid(`quantities[${i}].key`, 'must be a distinct key without spaces');
    keys.add(key);
    if (expected !== null && (typeof expected !== 'string' || !QUANTITY_VALUE.test(expected)))
      throw QuotaError.invalid(`quantities[${i}].expected`, 'must be null or a plain decimal');
    if (typeof next !== 'string' || !QUANTITY_VALUE.test(next))
      throw QuotaError.invalid(`quantities[${i}].next`, 'must be a plain decimal');
  });
}

/** Adds two amounts, refusing (before anything changes) a total past 2^53−1. */
export function addExact(a: number, b: number, what: string): number {
  const sum = a + b;
  if (sum > Number.MAX_SAFE_INTEGER) throw new QuotaError('amount_overflow', `${what} would pass 2^53-1 micro-credits.`, { what });
  return sum;
}

export function checkOverage(rule: OverageRule): void {
  const ok =
    rule?.kind === 'allow' ||
    rule?.kind === 'cap_at_hold' ||
    (rule?.kind === 'up_to_percent' && Number.isSafeInteger(rule.percent) && rule.percent >= 0 && rule.percent <= 1000);
  if (!ok) throw QuotaError.invalid('overage', 'must be allow, cap_at_hold, or up_to_percent with a percent from 0 to 1000');
}
