import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsObject,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateNested,
} from 'class-validator';
import { FieldError } from '../errors/tollgate-error';
import { createValidationPipe, microCredits, NullableField, OptionalField, plainMessage, wholeNumber } from './validation';

class Body {
  @OptionalField()
  @IsString()
  name?: string;

  @NullableField()
  @IsInt()
  limit?: number | null;

  @OptionalField()
  @IsObject()
  usage?: Record<string, number>;
}

describe('the validation pipe', () => {
  const sut = createValidationPipe();
  const run = (value: unknown) => sut.transform(value, { type: 'body', metatype: Body });
  const fieldsOf = async (value: unknown) => {
    try {
      await run(value);
      return [];
    } catch (error) {
      return ((error as { extensions: { errors: { field: string }[] } }).extensions.errors ?? []).map((e) => e.field);
    }
  };

  it('lets an optional field be absent, never null; a nullable one may be null', async () => {
    expect(await fieldsOf({})).toEqual([]);
    expect(await fieldsOf({ limit: null })).toEqual([]);
    expect(await fieldsOf({ name: null })).toEqual(['name']);
    expect(await fieldsOf({ limit: 'x' })).toEqual(['limit']);
  });

  it('treats keys named after Object.prototype members as ordinary keys', async () => {
    for (const key of ['toString', 'valueOf', 'constructor', 'prototype', 'hasOwnProperty']) {
      expect(await fieldsOf(JSON.parse(`{"${key}": 1}`))).toEqual([key]);
      const kept = (await run(JSON.parse(`{"usage": {"${key}": 4, "video_seconds": 1}}`))) as Body;
      expect(Object.keys(kept.usage!).sort()).toEqual([key, 'video_seconds'].sort());
      expect(Object.getOwnPropertyDescriptor(kept.usage, key)?.value).toBe(4);
    }
  });
});

const AMOUNT = microCredits(1);
const TTL = wholeNumber(1, 86_400);
const PERCENT = wholeNumber(1, 100, { each: true });

class Item {
  @OptionalField()
  @IsInt(AMOUNT)
  @Min(1, AMOUNT)
  @Max(Number.MAX_SAFE_INTEGER, AMOUNT)
  amount?: number;

  @OptionalField()
  @IsInt(TTL)
  @Min(1, TTL)
  @Max(86_400, TTL)
  ttl_seconds?: number;

  @OptionalField()
  @IsBoolean()
  allow_downgrade?: boolean;
}

class Batch {
  @IsIn(['all_or_nothing', 'max_fundable'])
  policy: string;

  @OptionalField()
  @IsString()
  @MinLength(1)
  @MaxLength(10)
  name?: string;

  @OptionalField()
  @IsString()
  @Matches(/^[a-z]+$/, { message: 'code must be lower-case letters' })
  code?: string;

  @OptionalField()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(3)
  @ArrayUnique()
  @IsIn(['read', 'admission'], { each: true })
  scopes?: string[];

  @OptionalField()
  @IsArray()
  @IsInt(PERCENT)
  @Min(1, PERCENT)
  @Max(100, PERCENT)
  thresholds?: number[];

  @IsArray()
  @ArrayMaxSize(5)
  @IsObject({ each: true })
  @ValidateNested({ each: true })
  @Type(() => Item)
  items: Item[];

  @OptionalField()
  @IsObject()
  @ValidateNested()
  @Type(() => Item)
  defaults?: Item;
}

describe('422 field errors', () => {
  const sut = createValidationPipe();
  const errorsOf = async (value: unknown): Promise<FieldError[]> => {
    try {
      await sut.transform(value, { type: 'body', metatype: Batch });
      return [];
    } catch (error) {
      return (error as { extensions: { errors: FieldError[] } }).extensions.errors;
    }
  };
  const valid = { policy: 'all_or_nothing', items: [{ amount: 5 }] };
  const AMOUNT_RULE = 'amount must be a whole number of micro-credits from 1 to 9007199254740991';

  it('say one thing per field, the same whatever is wrong with an amount', async () => {
    for (const amount of ['100', 1.5, 0, -1, 2 ** 53, null, true, [], {}]) {
      expect(await errorsOf({ ...valid, items: [{ amount }] })).toEqual([{ field: 'items[0].amount', message: AMOUNT_RULE }]);
    }
    expect(await errorsOf({ ...valid, items: [{ ttl_seconds: 'soon' }] })).toEqual([
      { field: 'items[0].ttl_seconds', message: 'ttl_seconds must be a whole number from 1 to 86400' },
    ]);
  });

  it('name an unknown field as such, at any depth, in bracket and dot paths', async () => {
    expect(await errorsOf({ ...valid, at: '2026-01-01' })).toEqual([{ field: 'at', message: 'at is not a field of this request' }]);
    expect(await errorsOf({ ...valid, items: [{ amount: 1 }, { amount: 2, allow_downgrade: true, extra: 1 }] })).toEqual([
      { field: 'items[1].extra', message: 'extra is not a field of this request' },
    ]);
    expect(await errorsOf({ ...valid, defaults: { amount: 'x', nope: 1 } })).toEqual([
      { field: 'defaults.nope', message: 'nope is not a field of this request' },
      { field: 'defaults.amount', message: AMOUNT_RULE },
    ]);
    // Keys named after Object.prototype members are unknown fields like any other.
    expect(await errorsOf({ ...valid, items: [{ amount: 1 }, JSON.parse('{"amount": 1, "toString": 1}')] })).toEqual([
      { field: 'items[1].toString', message: 'toString is not a field of this request' },
    ]);
  });

  it('report the type before the range or length', async () => {
    expect(await errorsOf({ ...valid, name: 5 })).toEqual([{ field: 'name', message: 'name must be a string' }]);
    expect(await errorsOf({ ...valid, name: '' })).toEqual([{ field: 'name', message: 'name must not be empty' }]);
    expect(await errorsOf({ ...valid, name: 'x'.repeat(11) })).toEqual([
      { field: 'name', message: 'name must be at most 10 characters long' },
    ]);
    expect(await errorsOf({ ...valid, code: 5 })).toEqual([{ field: 'code', message: 'code must be a string' }]);
    expect(await errorsOf({ ...valid, code: 'A' })).toEqual([{ field: 'code', message: 'code must be lower-case letters' }]);
    expect(await errorsOf({ ...valid, scopes: 'read' })).toEqual([{ field: 'scopes', message: 'scopes must be an array' }]);
    expect(await errorsOf({ ...valid, scopes: [] })).toEqual([{ field: 'scopes', message: 'scopes must not be empty' }]);
    expect(await errorsOf({ ...valid, scopes: ['read', 'read', 'x', 'y'] })).toEqual([
      { field: 'scopes', message: 'each item of scopes must be one of read, admission' },
    ]);
    expect(await errorsOf({ ...valid, scopes: ['read', 'read'] })).toEqual([
      { field: 'scopes', message: 'scopes must not list an item twice' },
    ]);
    expect(await errorsOf({ ...valid, thresholds: [50, 'x'] })).toEqual([
      { field: 'thresholds', message: 'each item of thresholds must be a whole number from 1 to 100' },
    ]);
    expect(await errorsOf({ policy: 'some', items: 'x' })).toEqual([
      { field: 'policy', message: 'policy must be one of all_or_nothing, max_fundable' },
      { field: 'items', message: 'items must be an array' },
    ]);
    expect(await errorsOf({ ...valid, items: [{}, {}, {}, {}, {}, {}] })).toEqual([
      { field: 'items', message: 'items must have at most 5 items' },
    ]);
    expect(await errorsOf({ ...valid, defaults: 5 })).toEqual([{ field: 'defaults', message: 'defaults must be an object' }]);
  });

  it('name an item that is not an object by its index, once', async () => {
    expect(await errorsOf({ ...valid, items: [{ amount: 1 }, 5, { amount: 'x' }] })).toEqual([
      { field: 'items[1]', message: 'items[1] must be an object' },
      { field: 'items[2].amount', message: AMOUNT_RULE },
    ]);
  });

  it('rephrase class-validator defaults and keep messages a DTO wrote', () => {
    expect(plainMessage('limit', 'min', 'limit must not be less than 1')).toBe('limit must be at least 1');
    expect(plainMessage('limit', 'max', 'limit must not be greater than 200')).toBe('limit must be at most 200');
    expect(plainMessage('flag', 'isBoolean', 'flag must be a boolean value')).toBe('flag must be true or false');
    expect(plainMessage('at', 'isDate', 'at must be a Date instance')).toBe('at must be an RFC 3339 date-time');
    expect(plainMessage('id', 'matches', 'id must match /^a$/ regular expression')).toBe('id is not in the expected format');
    expect(plainMessage('at', 'whitelistValidation', 'property at should not exist')).toBe('at is not a field of this request');
    expect(plainMessage('id', 'matches', 'id is not a reservation id')).toBe('id is not a reservation id');
    expect(plainMessage('backend', 'matches', 'must be a backend name')).toBe('backend must be a backend name');
  });
});

describe('request DTOs', () => {
  it("never use class-validator's IsOptional (it lets null through): OptionalField or NullableField", () => {
    const root = join(__dirname, '../../..');
    const dtoFiles = readdirSync(root).flatMap((lib) => {
      try {
        return readdirSync(join(root, lib, 'src/http'))
          .filter((f) => f.endsWith('.dto.ts'))
          .map((f) => join(root, lib, 'src/http', f));
      } catch {
        return [];
      }
    });
    expect(dtoFiles.length).toBeGreaterThanOrEqual(4);
    for (const file of [...dtoFiles, join(root, 'platform/src/http/pagination.ts')]) {
      expect({ file, usesIsOptional: /\bIsOptional\b/.test(readFileSync(file, 'utf8')) }).toEqual({ file, usesIsOptional: false });
    }
  });
});
