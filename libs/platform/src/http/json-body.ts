import type { FastifyInstance } from 'fastify';
import sjson from 'secure-json-parse';
import { fieldPath } from '../errors/field-path';
import { FieldError, PlatformError } from '../errors/tollgate-error';
import { bulkBoundsOf } from './bulk-body';

/**
 * Bounds on a JSON body, checked on the raw text in one linear pass before it is parsed,
 * so no later stage (prototype stripping, class-transformer, validation, canonical JSON,
 * all recursive) ever sees a body deeper or wider than this. Real bodies are far inside
 * them: the deepest (a rate card's tiers) is 4 levels, the widest (a batch) 100 items.
 */
export const JSON_MAX_DEPTH = 32;
/** Containers plus separators: about the number of values, whatever their nesting. */
export const JSON_MAX_TOKENS = 20_000;
/**
 * Items of one array. The longest array a route takes is 500 rates; class-transformer and
 * class-validator visit every item before `ArrayMaxSize` can refuse, so a 10,000-item array
 * would cost ~0.7 s of CPU. A bulk route (reconciliation, 10,000 records) raises this for itself.
 */
export const JSON_MAX_ARRAY_ITEMS = 1_000;

interface Shape {
  /** The text holds the escape `\u0000` somewhere (inside a string). */
  hasNul: boolean;
}

/**
 * One pass over the text: nesting depth and token count, outside strings. Throws
 * `json_too_deep` (400) or `json_too_complex` (413) as soon as a bound is crossed, so the
 * cost of a hostile body is this scan up to that point, never more. Malformed text is
 * left to the parser.
 */
export function checkJsonShape(
  text: string,
  maxDepth = JSON_MAX_DEPTH,
  maxTokens = JSON_MAX_TOKENS,
  maxItems = JSON_MAX_ARRAY_ITEMS,
): Shape {
  let depth = 0;
  let tokens = 0;
  // Per open container (depth is bounded): whether it is an array, and its separators so far.
  const isArray = new Uint8Array(maxDepth + 2);
  const commas = new Uint32Array(maxDepth + 2);
  let inString = false;
  let hasNul = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) {
        // `\u0000` (any case of the hex digits is the same code point: 0000 has none).
        if (text.charCodeAt(i + 1) === 0x75 && text.startsWith('0000', i + 2)) hasNul = true;
        i++;
      } else if (c === 0x22 /* " */) inString = false;
      continue;
    }
    switch (c) {
      case 0x22:
        inString = true;
        break;
      case 0x5b: // [
      case 0x7b: // {
        if (++depth > maxDepth) throw new PlatformError('json_too_deep', `The request body nests deeper than ${maxDepth} levels.`);
        if (++tokens > maxTokens) throw tooComplex(maxTokens);
        isArray[depth] = c === 0x5b ? 1 : 0;
        commas[depth] = 0;
        break;
      case 0x5d: // ]
      case 0x7d: // }
        depth--;
        break;
      case 0x2c: // ,
        if (++tokens > maxTokens) throw tooComplex(maxTokens);
        if (depth > 0 && isArray[depth] === 1 && ++commas[depth] >= maxItems) {
          throw new PlatformError('json_too_complex', `An array in the request body has more than ${maxItems.toLocaleString('en')} items.`);
        }
        break;
    }
  }
  return { hasNul };
}

function tooComplex(maxTokens: number): PlatformError {
  return new PlatformError('json_too_complex', `The request body has more than ${maxTokens.toLocaleString('en')} values.`);
}

/**
 * Postgres text and jsonb cannot hold U+0000, so a string with one is refused up front
 * (422 naming where it is), not left to fail a write with a 500. Iterative: the depth is
 * already bounded, but no recursion is needed.
 */
export function findNulStrings(value: unknown): FieldError[] {
  const errors: FieldError[] = [];
  const stack: Array<[unknown, string]> = [[value, '']];
  while (stack.length > 0 && errors.length < 20) {
    const [node, path] = stack.pop()!;
    if (typeof node === 'string') {
      if (node.includes('\u0000')) errors.push({ field: path || 'body', message: 'must not contain the NUL character (U+0000)' });
    } else if (Array.isArray(node)) {
      node.forEach((item, i) => stack.push([item, fieldPath(path, i)]));
    } else if (node !== null && typeof node === 'object') {
      for (const [key, item] of Object.entries(node)) {
        if (key.includes('\u0000')) errors.push({ field: path || 'body', message: 'keys must not contain the NUL character (U+0000)' });
        else stack.push([item, fieldPath(path, key)]);
      }
    }
  }
  return errors;
}

/**
 * Replaces Fastify's JSON parser: shape checked first (above), then secure-json-parse,
 * which refuses `__proto__` and `constructor.prototype` (400 `invalid_json`): they could
 * never be ordinary keys. Other names of Object.prototype (`constructor`, `toString`, …)
 * are ordinary keys (see validation.ts).
 */
export function registerJsonParser(fastify: FastifyInstance): void {
  fastify.removeContentTypeParser(['application/json']);
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    // A raw route (signed webhooks) reads its own bytes and parses them only once they verify.
    if (request.rawBody !== undefined) return done(null, undefined);
    const text = body as string;
    const bulk = bulkBoundsOf(request);
    let parsed: unknown;
    try {
      const { hasNul } = bulk ? checkJsonShape(text, JSON_MAX_DEPTH, bulk.maxTokens, bulk.maxItems) : checkJsonShape(text);
      parsed = sjson.parse(text, null, { protoAction: 'error', constructorAction: 'error' });
      if (hasNul) {
        const errors = findNulStrings(parsed);
        if (errors.length > 0) throw PlatformError.validation(errors);
      }
    } catch (error) {
      if (error instanceof PlatformError) return done(error, undefined);
      return done(new PlatformError('invalid_json', 'The request body is not valid JSON.'), undefined);
    }
    done(null, parsed);
  });
}
