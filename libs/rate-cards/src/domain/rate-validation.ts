import {
  MAX_MATCH_KEYS,
  MAX_MATCH_VALUE_LENGTH,
  MAX_TIERS,
  NAME_PATTERN,
  PRICE_PATTERN,
  PriceSpec,
  Rate,
  RATE_MODELS,
  RateIdentity,
  RateModel,
  RateOverride,
  sameMatch,
  TIER_SCOPES,
} from './rate';

/**
 * Checks a rate card before it is stored: every problem at once, each with a dotted field path
 * (`rates[2].tiers[1].up_to`), the shape of the API's 422 `errors`. The checks read the values
 * as untrusted (a DTO may let a number through where a string belongs).
 *
 * Beyond the shape of each rate, two rules keep resolution deterministic:
 * - no two rates of one identity (product + dimension + identical match) in force at once;
 * - no two equally specific rates of one product and dimension that some request can match
 *   both (their matches agree on every shared key), while both are in force, unless a rate whose
 *   match is their union is in force over that whole time (it is more specific and wins).
 * Rates already on the card (`existing`) take part but are not themselves re-checked.
 */

export interface RateProblem {
  field: string;
  message: string;
}

const PRICE_MESSAGE = 'must be a non-negative decimal string (at most 12 integer digits and 12 decimals, no exponent), e.g. "0.000002"';
export const NAME_MESSAGE = 'must be 1-64 characters of a-z A-Z 0-9 . _ : -';
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

type Problems = RateProblem[];
type Loose = Record<string, unknown>;

export function validateRates(rates: readonly Rate[], existing: readonly Rate[] = [], field = 'rates'): RateProblem[] {
  const problems: Problems = [];
  if (!Array.isArray(rates)) return [{ field, message: 'must be a list of rates' }];

  const ids = new Set(existing.map((rate) => rate.id));
  const sound: Array<{ rate: Rate; path: string }> = [];
  rates.forEach((rate, i) => {
    const path = `${field}[${i}]`;
    if (rate === null || typeof rate !== 'object') return problems.push({ field: path, message: 'must be an object' });
    const before = problems.length;
    if (typeof rate.id !== 'string' || rate.id.length === 0 || rate.id.length > 128)
      problems.push({ field: `${path}.id`, message: 'must be 1-128 characters' });
    else if (ids.has(rate.id)) problems.push({ field: `${path}.id`, message: `duplicates the id of another rate (${rate.id})` });
    else ids.add(rate.id);
    checkIdentity(problems, path, rate);
    checkPriceSpec(problems, path, rate);
    checkWindow(problems, path, rate, true);
    if (problems.length === before) sound.push({ rate, path });
  });

  const others = existing.map((rate) => ({ rate, path: null as string | null }));
  const all = [...existing, ...sound.map((s) => s.rate)];
  sound.forEach(({ rate, path }, i) => {
    for (const other of [...others, ...sound.slice(0, i)]) {
      if (rate.product !== other.rate.product || rate.dimension !== other.rate.dimension || !overlaps(rate, other.rate)) continue;
      const what = other.path ?? `existing rate ${other.rate.id}`;
      if (sameMatch(rate.match, other.rate.match)) {
        problems.push({
          field: `${path}.starting_at`,
          message: `is in force at the same time as ${what}, which has the same product, dimension and match`,
        });
      } else if (equallySpecificAndCompatible(rate.match, other.rate.match)) {
        const union = { ...other.rate.match, ...rate.match };
        if (!covered(union, rate, other.rate, all)) {
          problems.push({
            field: `${path}.match`,
            message: `is as specific as the match of ${what} and a request can match both while both are in force; add a rate for ${JSON.stringify(union)} covering that time, or make the matches exclusive`,
          });
        }
      }
    }
  });
  return problems;
}

/** Overrides of one organization: the price fields, an optional window, one per identity at a time. */
export function validateRateOverrides(
  overrides: readonly RateOverride[],
  existing: readonly RateOverride[] = [],
  field = 'overrides',
): RateProblem[] {
  const problems: Problems = [];
  if (!Array.isArray(overrides)) return [{ field, message: 'must be a list of overrides' }];
  const sound: Array<{ override: RateOverride; path: string }> = [];
  overrides.forEach((override, i) => {
    const path = `${field}[${i}]`;
    if (override === null || typeof override !== 'object') return problems.push({ field: path, message: 'must be an object' });
    const before = problems.length;
    if (typeof override.id !== 'string' || override.id.length === 0 || override.id.length > 128)
      problems.push({ field: `${path}.id`, message: 'must be 1-128 characters' });
    checkIdentity(problems, path, override);
    checkPriceSpec(problems, path, override);
    checkWindow(problems, path, override, false);
    if (problems.length === before) sound.push({ override, path });
  });
  sound.forEach(({ override, path }, i) => {
    const others = [...existing.map((o) => ({ override: o, path: `existing override ${o.id}` })), ...sound.slice(0, i)];
    for (const other of others) {
      if (
        override.product === other.override.product &&
        override.dimension === other.override.dimension &&
        sameMatch(override.match, other.override.match) &&
        overlaps(override, other.override)
      ) {
        problems.push({
          field: `${path}.starting_at`,
          message: `is in force at the same time as ${other.path}, which overrides the same rate`,
        });
      }
    }
  });
  return problems;
}

function checkIdentity(problems: Problems, path: string, identity: RateIdentity): void {
  if (!isName(identity.product)) problems.push({ field: `${path}.product`, message: NAME_MESSAGE });
  if (!isName(identity.dimension)) problems.push({ field: `${path}.dimension`, message: NAME_MESSAGE });
  checkDimensionMap(problems, `${path}.match`, identity.match);
}

/** A `match`, or a ladder step's `dimensions`: names to non-empty printable strings. */
export function checkDimensionMap(problems: RateProblem[], path: string, map: unknown): void {
  if (map === null || typeof map !== 'object' || Array.isArray(map)) {
    problems.push({ field: path, message: 'must be an object of dimension values' });
    return;
  }
  const keys = Object.keys(map);
  if (keys.length > MAX_MATCH_KEYS) problems.push({ field: path, message: `must have at most ${MAX_MATCH_KEYS} keys` });
  for (const key of keys) {
    const value = (map as Loose)[key];
    if (!isName(key)) problems.push({ field: path, message: `key ${JSON.stringify(key)} ${NAME_MESSAGE}` });
    else if (typeof value !== 'string' || value.length === 0 || value.length > MAX_MATCH_VALUE_LENGTH || CONTROL_CHARACTERS.test(value)) {
      problems.push({ field: `${path}.${key}`, message: `must be a string of 1-${MAX_MATCH_VALUE_LENGTH} printable characters` });
    }
  }
}

function checkPriceSpec(problems: Problems, path: string, spec: PriceSpec): void {
  const model = spec.model as RateModel;
  if (!RATE_MODELS.includes(model)) {
    problems.push({ field: `${path}.model`, message: `must be one of ${RATE_MODELS.join(', ')}` });
    return;
  }
  if (!TIER_SCOPES.includes(spec.tier_scope))
    problems.push({ field: `${path}.tier_scope`, message: `must be one of ${TIER_SCOPES.join(', ')}` });

  const tiered = model === 'graduated' || model === 'volume';
  if (tiered) {
    if (spec.unit_price !== undefined)
      problems.push({ field: `${path}.unit_price`, message: `must not be set for model ${model}: the tiers carry the prices` });
    checkTiers(problems, `${path}.tiers`, spec.tiers);
  } else {
    if (spec.unit_price === undefined) problems.push({ field: `${path}.unit_price`, message: `is required for model ${model}` });
    else if (!isPrice(spec.unit_price)) problems.push({ field: `${path}.unit_price`, message: PRICE_MESSAGE });
    if (spec.tiers !== undefined) problems.push({ field: `${path}.tiers`, message: `must not be set for model ${model}` });
  }
  if (model === 'package') {
    const size = spec.package_size;
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 1)
      problems.push({ field: `${path}.package_size`, message: 'must be a whole number of at least 1' });
  } else if (spec.package_size !== undefined) {
    problems.push({ field: `${path}.package_size`, message: `must not be set for model ${model}` });
  }
}

function checkTiers(problems: Problems, path: string, tiers: unknown): void {
  if (!Array.isArray(tiers) || tiers.length === 0) {
    problems.push({ field: path, message: 'must be a non-empty list, the last tier open (up_to null)' });
    return;
  }
  if (tiers.length > MAX_TIERS) problems.push({ field: path, message: `must have at most ${MAX_TIERS} tiers` });
  let previous = 0;
  tiers.forEach((tier: unknown, i) => {
    const at = `${path}[${i}]`;
    if (tier === null || typeof tier !== 'object') return problems.push({ field: at, message: 'must be an object' });
    const { up_to: upTo, unit_price: unitPrice, flat_price: flatPrice } = tier as Loose;
    const last = i === tiers.length - 1;
    if (upTo === null) {
      if (!last) problems.push({ field: `${at}.up_to`, message: 'only the last tier may be open (null)' });
    } else if (last) {
      problems.push({ field: `${at}.up_to`, message: 'the last tier must be open (null)' });
    } else if (typeof upTo !== 'number' || !Number.isSafeInteger(upTo) || upTo < 1) {
      problems.push({ field: `${at}.up_to`, message: 'must be a positive integer, or null for the last tier' });
    } else if (upTo <= previous) {
      problems.push({ field: `${at}.up_to`, message: `must be greater than the previous tier's up_to (${previous})` });
    } else {
      previous = upTo;
    }
    if (!isPrice(unitPrice)) problems.push({ field: `${at}.unit_price`, message: PRICE_MESSAGE });
    if (flatPrice !== undefined && !isPrice(flatPrice)) problems.push({ field: `${at}.flat_price`, message: PRICE_MESSAGE });
  });
}

function checkWindow(
  problems: Problems,
  path: string,
  window: { starting_at?: Date | null; ending_before?: Date | null },
  startRequired: boolean,
): void {
  const { starting_at: start, ending_before: end } = window;
  const startOk = start == null ? !startRequired : isInstant(start);
  if (!startOk)
    problems.push({
      field: `${path}.starting_at`,
      message: startRequired ? 'must be a valid instant' : 'must be a valid instant or absent',
    });
  if (end != null && !isInstant(end)) problems.push({ field: `${path}.ending_before`, message: 'must be a valid instant or null' });
  else if (startOk && start != null && end != null && end.getTime() <= start.getTime()) {
    problems.push({ field: `${path}.ending_before`, message: 'must be after starting_at' });
  }
}

type Window = { starting_at?: Date | null; ending_before?: Date | null };
const from = (w: Window): number => w.starting_at?.getTime() ?? -Infinity;
const until = (w: Window): number => w.ending_before?.getTime() ?? Infinity;

/** Half-open windows [from, until) share an instant. */
function overlaps(a: Window, b: Window): boolean {
  return from(a) < until(b) && from(b) < until(a);
}

function equallySpecificAndCompatible(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => !Object.prototype.hasOwnProperty.call(b, k) || b[k] === a[k]);
}

/** Rates matching `union` exactly, of the same product and dimension, together in force over the whole overlap of a and b. */
function covered(union: Record<string, string>, a: Rate, b: Rate, all: readonly Rate[]): boolean {
  const end = Math.min(until(a), until(b));
  let reached = Math.max(from(a), from(b));
  const windows = all
    .filter((rate) => rate.product === a.product && rate.dimension === a.dimension && sameMatch(rate.match, union))
    .map((rate) => [from(rate), until(rate)] as const)
    .sort((x, y) => x[0] - y[0]);
  for (const [start, stop] of windows) {
    if (reached >= end) break;
    if (start > reached) return false;
    reached = Math.max(reached, stop);
  }
  return reached >= end;
}

function isName(value: unknown): boolean {
  return typeof value === 'string' && NAME_PATTERN.test(value);
}

function isPrice(value: unknown): boolean {
  return typeof value === 'string' && PRICE_PATTERN.test(value);
}

function isInstant(value: unknown): value is Date {
  return value instanceof Date && !Number.isNaN(value.getTime());
}
