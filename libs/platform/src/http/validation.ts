import { ArgumentMetadata, ValidationError, ValidationPipe } from '@nestjs/common';
import { ValidateIf, ValidationArguments, ValidationOptions } from 'class-validator';
import { fieldPath, unknownFieldMessage } from '../errors/field-path';
import { FieldError, PlatformError } from '../errors/tollgate-error';

/** A 422 lists at most this many fields: a 10,000-item array of bad items must not answer 10,000 errors. */
export const MAX_FIELD_ERRORS = 50;

/** The largest amount of micro-credits (2^53 − 1): past it, arithmetic on amounts is no longer exact. */
export const MAX_MICRO_CREDITS = Number.MAX_SAFE_INTEGER;

/**
 * Options for the `IsInt`, `Min` and `Max` of one integer field, so that every way it can be
 * wrong (a string, a fraction, out of range) answers the same message, the whole rule:
 * `ttl_seconds must be a whole number from 1 to 86400`. Give the same options to all three
 * decorators (the OpenAPI plugin reads `Min` and `Max`, so they stay on the property).
 */
export function wholeNumber(min: number, max: number, options: { each?: boolean; of?: string } = {}): ValidationOptions {
  const rule = `must be a whole number${options.of ? ` of ${options.of}` : ''} from ${min} to ${max}`;
  return {
    each: options.each,
    message: ({ property }: ValidationArguments) => (options.each ? `each item of ${property} ${rule}` : `${property} ${rule}`),
  };
}

/** `wholeNumber` for an amount: `amount must be a whole number of micro-credits from 1 to 9007199254740991`. */
export function microCredits(min: 0 | 1): ValidationOptions {
  return wholeNumber(min, MAX_MICRO_CREDITS, { of: 'micro-credits' });
}

/**
 * class-validator's constraints, most basic first: when a field fails several, the 422 names
 * the first one only (a string amount is "not a whole number", not also "less than 1" and
 * "greater than 2^53"). An unknown field, then the value's type, then its range or length,
 * then everything else (formats, uniqueness, custom rules).
 */
const CONSTRAINT_ORDER = [
  'whitelistValidation',
  'unknownValue',
  'isDefined',
  'isArray',
  'isObject',
  'nestedValidation',
  'isString',
  'isInt',
  'isNumber',
  'isBoolean',
  'isDate',
  'isIn',
  'isEnum',
  'min',
  'max',
  'minLength',
  'maxLength',
  'arrayMinSize',
  'arrayMaxSize',
];

function rank(constraint: string): number {
  const i = CONSTRAINT_ORDER.indexOf(constraint);
  return i < 0 ? CONSTRAINT_ORDER.length : i;
}

/** `rest` matched against `pattern`, rephrased from its first group; null when it does not match (a DTO's own message). */
function reword(pattern: RegExp, rest: string, plain: (n: string) => string): string | null {
  const match = pattern.exec(rest);
  return match ? plain(match[1]) : null;
}

const oneOf = (rest: string) => reword(/^must be one of the following values: (.*)$/, rest, (values) => `must be one of ${values}`);

/**
 * class-validator's default messages (what follows the property name), rephrased for people.
 * A message a DTO gave itself matches none of these and is kept as written.
 */
const PLAIN: Partial<Record<string, (rest: string) => string | null>> = {
  isInt: (rest) => (rest === 'must be an integer number' ? 'must be a whole number' : null),
  isNumber: (rest) => (rest.startsWith('must be a number') ? 'must be a number' : null),
  isString: (rest) => (rest === 'must be a string' ? rest : null),
  isBoolean: (rest) => (rest === 'must be a boolean value' ? 'must be true or false' : null),
  isObject: (rest) => (rest === 'must be an object' ? rest : null),
  isArray: (rest) => (rest === 'must be an array' ? rest : null),
  isDate: (rest) => (rest === 'must be a Date instance' ? 'must be an RFC 3339 date-time' : null),
  isIn: oneOf,
  isEnum: oneOf,
  isDefined: (rest) => (rest === 'should not be null or undefined' ? 'is required' : null),
  min: (rest) => reword(/^must not be less than (.+)$/, rest, (n) => `must be at least ${n}`),
  max: (rest) => reword(/^must not be greater than (.+)$/, rest, (n) => `must be at most ${n}`),
  minLength: (rest) =>
    reword(/^must be longer than or equal to (\d+) characters$/, rest, (n) =>
      n === '1' ? 'must not be empty' : `must be at least ${n} characters long`,
    ),
  maxLength: (rest) => reword(/^must be shorter than or equal to (\d+) characters$/, rest, (n) => `must be at most ${n} characters long`),
  arrayMinSize: (rest) =>
    reword(/^must contain at least (\d+) elements$/, rest, (n) => (n === '1' ? 'must not be empty' : `must have at least ${n} items`)),
  arrayMaxSize: (rest) => reword(/^must contain no more than (\d+) elements$/, rest, (n) => `must have at most ${n} items`),
  matches: (rest) => (/^must match .* regular expression$/s.test(rest) ? 'is not in the expected format' : null),
};

/** The one message for a field that failed `constraint`, starting with the field's own name. */
export function plainMessage(property: string, constraint: string, message: string): string {
  if (constraint === 'whitelistValidation') return unknownFieldMessage(property);
  // class-validator's own wording for these does not start with the property.
  if (constraint === 'arrayUnique' && message === `All ${property}'s elements must be unique`)
    return `${property} must not list an item twice`;
  if (constraint === 'nestedValidation' || constraint === 'unknownValue') return `${property} must be an object`;
  const each = message.startsWith('each value in ');
  const unprefixed = each ? message.slice('each value in '.length) : message;
  const rest = unprefixed.startsWith(`${property} `) ? unprefixed.slice(property.length + 1) : null;
  const plain = rest === null ? null : (PLAIN[constraint]?.(rest) ?? null);
  if (plain !== null) return each ? `each item of ${property} ${plain}` : `${property} ${plain}`;
  // The DTO's own message: kept, named by its field if it does not name it already.
  return message.startsWith(`${property} `) || message.startsWith('each item of ') ? message : `${property} ${message}`.trim();
}

/**
 * Flattens class-validator's tree into `errors[]`: one error per bad field (its most basic
 * failed constraint, in plain words), named by its path (`items[0].amount`, `settings.overdraft_limit`).
 */
export function toFieldErrors(errors: ValidationError[], prefix = '', out: FieldError[] = []): FieldError[] {
  for (const error of errors) {
    if (out.length >= MAX_FIELD_ERRORS) break;
    const property = error.property ?? '';
    // Children of an array are named by their index ("0"); no DTO property is all digits.
    const isIndex = /^\d+$/.test(property);
    const path = fieldPath(prefix, isIndex ? Number(property) : property);
    const constraints = Object.entries(error.constraints ?? {});
    if (constraints.length > 0) {
      const [constraint, message] = constraints.reduce((best, next) => (rank(next[0]) < rank(best[0]) ? next : best));
      // `IsObject({ each: true })` beside `ValidateNested({ each: true })` fails for exactly the
      // items the nested check names one by one (`items[2] must be an object`): those say it better.
      const namedByItems =
        constraint === 'isObject' && message.startsWith('each value in ') && error.children?.some((c) => c.constraints?.nestedValidation);
      // An array item, or the body itself, has no name of its own: its path names it.
      const name = isIndex || property === '' ? path || 'body' : property;
      if (!namedByItems) out.push({ field: path || 'body', message: plainMessage(name, constraint, message) });
    }
    if (error.children?.length) toFieldErrors(error.children, path, out);
  }
  return out;
}

/**
 * The field may be absent; when present it is validated, `null` included (a wrong type, 422).
 * Use this, not class-validator's IsOptional, which lets `null` through to the use case.
 */
export function OptionalField(options?: ValidationOptions): PropertyDecorator {
  return ValidateIf((_object, value) => value !== undefined, options);
}

/** The field may be absent or `null` (where null means something: "no limit", "unassign"). */
export function NullableField(options?: ValidationOptions): PropertyDecorator {
  return ValidateIf((_object, value) => value !== undefined && value !== null, options);
}

/** Keys class-transformer or Nest's pipe would drop without a word (they name Object.prototype members). */
const PROTOTYPE_NAMES = new Set([...Object.getOwnPropertyNames(Object.prototype), 'prototype']);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

interface PrototypeNamedKey {
  /** Keys and array indices from the body down to the object holding `key`. */
  path: Array<string | number>;
  key: string;
  value: unknown;
}

/** Where the body has such keys (an iterative walk; the parser already bounded depth and size). */
function findPrototypeNamedKeys(body: unknown): PrototypeNamedKey[] {
  const found: PrototypeNamedKey[] = [];
  const stack: Array<[unknown, Array<string | number>]> = [[body, []]];
  while (stack.length > 0) {
    const [node, path] = stack.pop()!;
    if (Array.isArray(node)) node.forEach((item, i) => stack.push([item, [...path, i]]));
    else if (isPlainObject(node)) {
      for (const key of Object.keys(node)) {
        if (PROTOTYPE_NAMES.has(key)) found.push({ path, key, value: node[key] });
        else if (node[key] !== null && typeof node[key] === 'object') stack.push([node[key], [...path, key]]);
      }
    }
  }
  return found;
}

/**
 * class-transformer silently drops keys that name a member of Object.prototype (`toString`,
 * `valueOf`, `constructor`, …: they would shadow a method) and Nest's pipe deletes
 * `constructor` and `prototype`. Here they are ordinary keys, like `foo`: in a DTO an unknown
 * field (422), in a free-form record (usage, dimensions, metadata) kept as the client sent it,
 * so pricing refuses `usage.toString` exactly as it refuses `usage.foo`. `__proto__` never
 * gets this far (secure-json-parse refuses it with 400).
 */
function restorePrototypeNamedKeys(result: unknown, found: PrototypeNamedKey[]): FieldError[] {
  const errors: FieldError[] = [];
  for (const { path, key, value } of found) {
    let target: unknown = result;
    for (const step of path) {
      target =
        target !== null && typeof target === 'object' && Object.prototype.hasOwnProperty.call(target, step)
          ? (target as Record<string, unknown>)[step]
          : undefined;
    }
    if (target === null || typeof target !== 'object' || Array.isArray(target)) continue;
    if (isPlainObject(target)) {
      Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
    } else {
      errors.push({ field: fieldPath(...path, key), message: unknownFieldMessage(key) });
    }
  }
  return errors;
}

class TollgateValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const found = metadata.type === 'body' || metadata.type === 'query' ? findPrototypeNamedKeys(value) : [];
    const result = await super.transform(value, metadata);
    if (found.length === 0) return result;
    // Nest deleted `constructor` and `prototype` from the request's own body too; put them back,
    // so what a retry is compared against (canonical JSON of the body) is what was sent.
    restorePrototypeNamedKeys(value, found);
    const errors = restorePrototypeNamedKeys(result, found);
    if (errors.length > 0) throw PlatformError.validation(errors.slice(0, MAX_FIELD_ERRORS));
    return result;
  }
}

/** The one validation pipe every entry point uses (main.ts and the test harness alike). */
export function createValidationPipe(): ValidationPipe {
  return new TollgateValidationPipe({
    transform: true,
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => PlatformError.validation(toFieldErrors(errors)),
  });
}
