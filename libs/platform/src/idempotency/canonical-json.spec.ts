import { canonicalJson } from './canonical-json';

describe('canonicalJson', () => {
  it('sorts object keys, so key order does not change the text', () => {
    expect(canonicalJson({ b: 1, a: 2 })).toBe('{"a":2,"b":1}');
    expect(canonicalJson({ b: 1, a: 2 })).toBe(canonicalJson({ a: 2, b: 1 }));
  });

  it('sorts keys at every depth, including inside arrays', () => {
    const sut = canonicalJson({ z: { y: 1, x: [{ d: 1, c: 2 }] }, a: null });

    expect(sut).toBe('{"a":null,"z":{"x":[{"c":2,"d":1}],"y":1}}');
  });

  it('keeps array order: a different order is a different request', () => {
    expect(canonicalJson([1, 2])).toBe('[1,2]');
    expect(canonicalJson([2, 1])).not.toBe(canonicalJson([1, 2]));
  });

  it('leaves out undefined members, as JSON does', () => {
    expect(canonicalJson({ a: 1, b: undefined })).toBe('{"a":1}');
    expect(canonicalJson({ a: 1, b: undefined })).toBe(canonicalJson({ a: 1 }));
  });

  it('writes scalars as JSON does', () => {
    expect(canonicalJson('x"y')).toBe('"x\\"y"');
    expect(canonicalJson(2500000)).toBe('2500000');
    expect(canonicalJson(true)).toBe('true');
    expect(canonicalJson(null)).toBe('null');
    expect(canonicalJson(undefined)).toBe('null');
  });

  it('escapes keys', () => {
    expect(canonicalJson({ 'a"b': 1 })).toBe('{"a\\"b":1}');
  });

  it('tells apart values that differ only in type', () => {
    expect(canonicalJson({ amount: 1 })).not.toBe(canonicalJson({ amount: '1' }));
    expect(canonicalJson({})).not.toBe(canonicalJson([]));
  });

  it('is valid JSON that parses back to the same value', () => {
    const value = { usage: { video_seconds: 8 }, dimensions: { resolution: '1080p' }, tags: ['a', 'b'], ttl_seconds: 900 };

    expect(JSON.parse(canonicalJson(value))).toEqual(value);
  });
});
