import { DowngradeLadder, LadderStep, validateLadder } from './downgrade';
import { PriceSpec, RateIdentity } from './rate';
import { RateProblem } from './rate-validation';

/**
 * Rates, overrides and ladders as a client writes them (parsed JSON), read into domain shapes.
 * Only what JSON cannot say is checked here: unknown fields (a misspelt `ending_befor` must not
 * be ignored), RFC 3339 instants, and defaults. Everything else is left to validateRates /
 * validateRateOverrides / validateLadder, which read values as untrusted, so that one 422 lists
 * every problem with its path (`rates[1].tiers[0].up_to`).
 */

export interface PriceItemDraft extends RateIdentity, PriceSpec {
  /** Absent: the caller decides (now). */
  starting_at?: Date;
  ending_before: Date | null;
}

const ITEM_FIELDS = new Set([
  'product',
  'dimension',
  'match',
  'model',
  'unit_price',
  'package_size',
  'tiers',
  'tier_scope',
  'starting_at',
  'ending_before',
]);
const TIER_FIELDS = new Set(['up_to', 'unit_price', 'flat_price']);
const LADDER_FIELDS = new Set(['product', 'ladder']);

/** RFC 3339 date-time with a zone (Z or an offset). */
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

type Loose = Record<string, unknown>;

const isPlainObject = (value: unknown): value is Loose => value !== null && typeof value === 'object' && !Array.isArray(value);

export function parseInstant(value: unknown): Date | null {
  if (typeof value !== 'string' || !RFC3339.test(value)) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/**
 * A list of rates (or overrides): one draft per item, null where the item is not an object.
 * `null` for `unit_price`, `package_size` or `tiers` means absent, so a rate read from the API
 * can be sent back without its read-only fields.
 */
export function readPriceItems(
  raw: unknown,
  field: string,
  what: 'rate' | 'override',
  max: number,
): { items: (PriceItemDraft | null)[]; problems: RateProblem[] } {
  const problems: RateProblem[] = [];
  if (!Array.isArray(raw)) return { items: [], problems: [{ field, message: `must be a list of ${what}s` }] };
  if (raw.length > max) return { items: [], problems: [{ field, message: `must have at most ${max} ${what}s` }] };
  const items = raw.map((item: unknown, i): PriceItemDraft | null => {
    const path = `${field}[${i}]`;
    if (!isPlainObject(item)) {
      problems.push({ field: path, message: 'must be an object' });
      return null;
    }
    for (const key of Object.keys(item))
      if (!ITEM_FIELDS.has(key)) problems.push({ field: `${path}.${key}`, message: `is not a field of a ${what}` });
    const draft: PriceItemDraft = {
      product: item.product as string,
      dimension: item.dimension as string,
      match: (item.match === undefined ? {} : item.match) as Record<string, string>,
      model: item.model as PriceSpec['model'],
      tier_scope: (item.tier_scope === undefined ? 'request' : item.tier_scope) as PriceSpec['tier_scope'],
      ending_before: null,
    };
    if (item.unit_price != null) draft.unit_price = item.unit_price as string;
    if (item.package_size != null) draft.package_size = item.package_size as number;
    if (item.tiers != null) draft.tiers = readTiers(item.tiers, `${path}.tiers`, problems);
    if (item.starting_at !== undefined) {
      const start = parseInstant(item.starting_at);
      if (start) draft.starting_at = start;
      else
        problems.push({
          field: `${path}.starting_at`,
          message: 'must be an RFC 3339 date-time with a time zone, e.g. "2026-01-01T00:00:00Z"',
        });
    }
    if (item.ending_before != null) {
      const end = parseInstant(item.ending_before);
      if (end) draft.ending_before = end;
      else problems.push({ field: `${path}.ending_before`, message: 'must be an RFC 3339 date-time with a time zone, or null' });
    }
    return draft;
  });
  return { items, problems };
}

function readTiers(raw: unknown, path: string, problems: RateProblem[]): PriceSpec['tiers'] {
  if (!Array.isArray(raw)) return raw as PriceSpec['tiers'];
  return raw.map((tier: unknown, k) => {
    if (!isPlainObject(tier)) return tier;
    for (const key of Object.keys(tier))
      if (!TIER_FIELDS.has(key)) problems.push({ field: `${path}[${k}].${key}`, message: 'is not a field of a tier' });
    const copy: Loose = { up_to: tier.up_to, unit_price: tier.unit_price };
    if (tier.flat_price != null) copy.flat_price = tier.flat_price;
    return copy;
  }) as PriceSpec['tiers'];
}

/**
 * A ladder as API.md writes it: `{"product": "video.generate", "ladder": [{"resolution": "1080p"}, {"product": "video.fast"}]}`.
 * In a step, `product` names another product and every other key is a dimension (so no
 * dimension may be called `product`). `field` prefixes the paths (`ladders[0]`, or '' for a
 * ladder that is the whole body).
 */
export function readLadder(raw: unknown, field: string): { ladder: DowngradeLadder | null; problems: RateProblem[] } {
  const at = (suffix: string): string => (field ? `${field}${suffix}` : suffix.replace(/^\./, ''));
  if (!isPlainObject(raw)) return { ladder: null, problems: [{ field: field || 'ladder', message: 'must be an object' }] };
  const problems: RateProblem[] = [];
  for (const key of Object.keys(raw))
    if (!LADDER_FIELDS.has(key)) problems.push({ field: at(`.${key}`), message: 'is not a field of a ladder' });
  const steps = Array.isArray(raw.ladder)
    ? raw.ladder.map((step: unknown): LadderStep => {
        if (!isPlainObject(step)) return step as LadderStep;
        const { product, ...dimensions } = step;
        return { ...(product !== undefined && { product: product as string }), dimensions: dimensions as Record<string, string> };
      })
    : raw.ladder;
  const ladder = { product: raw.product as string, ladder: steps as LadderStep[] };
  // Steps are flat in the API: `ladder[1].dimensions.resolution` is `ladder[1].resolution` to the client.
  for (const problem of validateLadder(ladder, field)) {
    problems.push({
      field: at(problem.field.slice(field.length))
        .replace(/(\.ladder\[\d+\])\.dimensions/, '$1')
        .replace(/^(ladder\[\d+\])\.dimensions/, '$1'),
      message: problem.message,
    });
  }
  // Readable enough for further checks (checkLadderProducts) even when problems were found.
  const readable = Array.isArray(steps) && steps.every((step: unknown) => isPlainObject(step));
  return { ladder: readable ? ladder : null, problems };
}

/** The API's flat form of a step. */
export function presentStep(step: LadderStep): Record<string, string> {
  return { ...(step.product !== undefined && { product: step.product }), ...(step.dimensions ?? {}) };
}
