import { checkJsonShape, findNulStrings, JSON_MAX_ARRAY_ITEMS, JSON_MAX_DEPTH } from './json-body';

describe('checkJsonShape', () => {
  const codeOf = (text: string) => {
    try {
      checkJsonShape(text);
      return 'ok';
    } catch (error) {
      return (error as { code: string }).code;
    }
  };

  it('accepts nesting up to the limit and refuses one level more', () => {
    expect(codeOf('['.repeat(JSON_MAX_DEPTH) + ']'.repeat(JSON_MAX_DEPTH))).toBe('ok');
    expect(codeOf('['.repeat(JSON_MAX_DEPTH + 1) + ']'.repeat(JSON_MAX_DEPTH + 1))).toBe('json_too_deep');
    expect(codeOf('{"a":'.repeat(JSON_MAX_DEPTH + 1))).toBe('json_too_deep');
  });

  it('does not count brackets and commas inside strings, escaped quotes included', () => {
    expect(codeOf(`{"a":"${'['.repeat(100)}\\"${','.repeat(30_000)}"}`)).toBe('ok');
  });

  it('refuses an array of more items than allowed, not an object of as many members', () => {
    expect(codeOf(`[${Array(JSON_MAX_ARRAY_ITEMS).fill(0).join(',')}]`)).toBe('ok');
    expect(
      codeOf(
        `[${Array(JSON_MAX_ARRAY_ITEMS + 1)
          .fill(0)
          .join(',')}]`,
      ),
    ).toBe('json_too_complex');
    expect(codeOf(`{${Array.from({ length: 5_000 }, (_, i) => `"k${i}":[1,2]`).join(',')}}`)).toBe('ok');
    expect(codeOf(`{${Array.from({ length: 25_000 }, (_, i) => `"k${i}":0`).join(',')}}`)).toBe('json_too_complex');
  });

  it('stops at the first bound crossed: a megabyte of nesting costs what 33 levels do', () => {
    const started = process.hrtime.bigint();
    expect(codeOf('['.repeat(1_000_000))).toBe('json_too_deep');
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(20);
  });

  it('tells a \\u0000 escape from an escaped backslash followed by u0000', () => {
    expect(checkJsonShape('{"a":"x\\u0000"}').hasNul).toBe(true);
    expect(checkJsonShape('{"a":"x\\\\u0000"}').hasNul).toBe(false);
  });
});

describe('findNulStrings', () => {
  it('names every place a NUL is, keys included', () => {
    expect(findNulStrings({ a: 'ok', b: ['x', 'y\u0000'], c: { 'k\u0000': 1 } })).toEqual(
      expect.arrayContaining([
        { field: 'b[1]', message: expect.any(String) },
        { field: 'c', message: expect.stringContaining('keys') },
      ]),
    );
    expect(findNulStrings({ a: 'fine', b: [1, null, { c: 'also' }] })).toEqual([]);
  });
});
