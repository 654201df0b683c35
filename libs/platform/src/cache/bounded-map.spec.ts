import { BoundedMap } from './bounded-map';

describe('BoundedMap', () => {
  it('forgets the entry written longest ago when a write passes the bound', () => {
    const sut = new BoundedMap<string, number>(2);
    sut.set('a', 1);
    sut.set('b', 2);
    sut.set('c', 3);

    expect(sut.size).toBe(2);
    expect(sut.has('a')).toBe(false);
    expect(sut.get('b')).toBe(2);
    expect(sut.get('c')).toBe(3);
  });

  it('makes a rewritten key the newest, and never evicts for a rewrite', () => {
    const sut = new BoundedMap<string, number>(2);
    sut.set('a', 1);
    sut.set('b', 2);
    sut.set('a', 10);
    expect([sut.get('a'), sut.get('b')]).toEqual([10, 2]);

    sut.set('c', 3);
    expect(sut.has('b')).toBe(false);
    expect([sut.get('a'), sut.get('c')]).toEqual([10, 3]);
  });

  it('does not reorder on read', () => {
    const sut = new BoundedMap<string, number>(2);
    sut.set('a', 1);
    sut.set('b', 2);
    sut.get('a');
    sut.set('c', 3);

    expect(sut.has('a')).toBe(false);
  });

  it('keeps null values apart from missing ones', () => {
    const sut = new BoundedMap<string, string | null>(2);
    sut.set('none', null);

    expect(sut.get('none')).toBeNull();
    expect(sut.get('missing')).toBeUndefined();
  });

  it('take answers a value once', () => {
    const sut = new BoundedMap<string, { id: string }>(2);
    sut.set('a', { id: 'a' });

    expect(sut.take('a')).toEqual({ id: 'a' });
    expect(sut.take('a')).toBeUndefined();
    expect(sut.size).toBe(0);
  });

  it('delete and clear drop entries', () => {
    const sut = new BoundedMap<string, number>(3);
    sut.set('a', 1);
    sut.set('b', 2);

    expect(sut.delete('a')).toBe(true);
    expect(sut.delete('a')).toBe(false);
    sut.clear();
    expect(sut.size).toBe(0);
  });

  it('refuses a bound below one', () => {
    expect(() => new BoundedMap(0)).toThrow(RangeError);
  });
});
