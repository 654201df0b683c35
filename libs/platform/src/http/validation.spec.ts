import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IsInt, IsObject, IsString } from 'class-validator';
import { createValidationPipe, NullableField, OptionalField } from './validation';

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
