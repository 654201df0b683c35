import { ArgumentMetadata, ValidationError, ValidationPipe } from '@nestjs/common';
import { ValidateIf, ValidationOptions } from 'class-validator';
import { FieldError, PlatformError } from '../errors/tollgate-error';

/** A 422 lists at most this many fields: a 10,000-item array of bad items must not answer 10,000 errors. */
export const MAX_FIELD_ERRORS = 50;

/** Flattens class-validator's tree into `errors[]` with dotted field paths (`usage.video_seconds`). */
export function toFieldErrors(errors: ValidationError[], prefix = '', out: FieldError[] = []): FieldError[] {
  for (const error of errors) {
    if (out.length >= MAX_FIELD_ERRORS) break;
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    for (const message of Object.values(error.constraints ?? {})) {
      if (out.length >= MAX_FIELD_ERRORS) break;
      out.push({ field, message: message.startsWith(error.property + ' ') ? message : `${error.property} ${message}`.trim() });
    }
    if (error.children?.length) toFieldErrors(error.children, field, out);
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
  path: string[];
  key: string;
  value: unknown;
}

/** Where the body has such keys (an iterative walk; the parser already bounded depth and size). */
function findPrototypeNamedKeys(body: unknown): PrototypeNamedKey[] {
  const found: PrototypeNamedKey[] = [];
  const stack: Array<[unknown, string[]]> = [[body, []]];
  while (stack.length > 0) {
    const [node, path] = stack.pop()!;
    if (Array.isArray(node)) node.forEach((item, i) => stack.push([item, [...path, String(i)]]));
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
      errors.push({ field: [...path, key].join('.'), message: `property ${key} should not exist` });
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
