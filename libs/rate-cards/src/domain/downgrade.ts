import { matchesDimensions, NAME_PATTERN, sameMatch } from './rate';
import { checkDimensionMap, NAME_MESSAGE, RateProblem } from './rate-validation';

/**
 * A downgrade ladder: an ordered list of ever cheaper ways to run an operation, best first.
 * A step names dimensions within the ladder's product (`{resolution: '720p'}`) or another
 * product (`{product: 'video.fast'}`), or both.
 *
 * A request is on step k when the step's product (the ladder's by default) is the request's and
 * the step's dimensions are a subset of the request's. When several steps fit, the request is
 * on the lowest of them, so an alternative is never a step the request already satisfies.
 * The alternatives are the steps below it, in ladder order, each with its dimensions merged
 * over the request's (a step changes only what it names); a request on no step has none.
 */

export interface LadderStep {
  product?: string;
  dimensions?: Record<string, string>;
}

export interface DowngradeLadder {
  product: string;
  ladder: LadderStep[];
}

export interface Operation {
  product: string;
  dimensions: Record<string, string>;
}

export const MAX_LADDER_STEPS = 16;

export function downgradeAlternatives(ladder: DowngradeLadder, request: Operation): Operation[] {
  const requested = request.dimensions ?? {};
  const stepProduct = (step: LadderStep): string => step.product ?? ladder.product;
  let current = -1;
  ladder.ladder.forEach((step, k) => {
    if (stepProduct(step) === request.product && matchesDimensions(step.dimensions ?? {}, requested)) current = k;
  });
  if (current < 0) return [];

  const alternatives: Operation[] = [];
  for (const step of ladder.ladder.slice(current + 1)) {
    const alternative = { product: stepProduct(step), dimensions: { ...requested, ...(step.dimensions ?? {}) } };
    // Never the request itself: a step that would merge back to it is one the request is on, so above `current`.
    const same = (other: Operation): boolean =>
      other.product === alternative.product && sameMatch(other.dimensions, alternative.dimensions);
    if (!alternatives.some(same)) alternatives.push(alternative);
  }
  return alternatives;
}

export function validateLadder(ladder: DowngradeLadder, field = 'ladder'): RateProblem[] {
  if (ladder === null || typeof ladder !== 'object') return [{ field, message: 'must be an object' }];
  const problems: RateProblem[] = [];
  if (!isName(ladder.product)) problems.push({ field: `${field}.product`, message: NAME_MESSAGE });
  const steps: unknown = ladder.ladder;
  if (!Array.isArray(steps) || steps.length < 2 || steps.length > MAX_LADDER_STEPS) {
    problems.push({ field: `${field}.ladder`, message: `must be a list of 2 to ${MAX_LADDER_STEPS} steps` });
    return problems;
  }
  steps.forEach((step: unknown, k) => {
    const at = `${field}.ladder[${k}]`;
    if (step === null || typeof step !== 'object' || Array.isArray(step)) return problems.push({ field: at, message: 'must be an object' });
    const { product, dimensions } = step as LadderStep;
    if (product !== undefined && !isName(product)) problems.push({ field: `${at}.product`, message: NAME_MESSAGE });
    if (dimensions !== undefined) checkDimensionMap(problems, `${at}.dimensions`, dimensions);
    const duplicate = steps.slice(0, k).findIndex((other: unknown) => sameStep(ladder.product, other, step as LadderStep));
    if (duplicate >= 0) problems.push({ field: at, message: `repeats step ${duplicate}` });
  });
  return problems;
}

function isName(value: unknown): boolean {
  return typeof value === 'string' && NAME_PATTERN.test(value);
}

function sameStep(product: string, a: unknown, b: LadderStep): boolean {
  if (a === null || typeof a !== 'object') return false;
  const step = a as LadderStep;
  const dimensions = (s: LadderStep): Record<string, string> =>
    s.dimensions !== null && typeof s.dimensions === 'object' ? s.dimensions : {};
  return (step.product ?? product) === (b.product ?? product) && sameMatch(dimensions(step), dimensions(b));
}
