import { TtlCache } from './ttl-cache';

/** A clock the test moves by hand. */
function manualClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

/** A load the test finishes when it chooses, to interleave it with invalidations. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('TtlCache', () => {
  it('returns a value until its TTL has passed, then forgets it', () => {
    const clock = manualClock();
    const sut = new TtlCache<string>(1_000, 100, clock.now);
    sut.set('a', 'alpha');

    clock.advance(999);
    expect(sut.get('a')).toBe('alpha');

    clock.advance(1);
    expect(sut.get('a')).toBeUndefined();
  });

  it('starts the TTL again when a key is set again', () => {
    const clock = manualClock();
    const sut = new TtlCache<string>(1_000, 100, clock.now);
    sut.set('a', 'old');
    clock.advance(800);
    sut.set('a', 'new');
    clock.advance(800);

    expect(sut.get('a')).toBe('new');
  });

  it('caches nothing with a TTL of 0', () => {
    const sut = new TtlCache<string>(0);
    sut.set('a', 'alpha');

    expect(sut.get('a')).toBeUndefined();
  });

  it('caches null (a known miss) but not undefined', async () => {
    const sut = new TtlCache<string | null>(1_000);
    const load = jest.fn(async () => null);

    await sut.getOrLoad('missing', load);
    await sut.getOrLoad('missing', load);

    expect(load).toHaveBeenCalledTimes(1);
  });

  it('evicts the oldest entry when full', () => {
    const sut = new TtlCache<number>(60_000, 2);
    sut.set('a', 1);
    sut.set('b', 2);
    sut.set('c', 3);

    expect(sut.get('a')).toBeUndefined();
    expect(sut.get('b')).toBe(2);
    expect(sut.get('c')).toBe(3);
  });

  it('delete and clear drop entries', () => {
    const sut = new TtlCache<number>(60_000);
    sut.set('a', 1);
    sut.set('b', 2);
    sut.set('c', 3);

    sut.delete('a');
    expect(sut.get('a')).toBeUndefined();
    expect(sut.get('b')).toBe(2);

    sut.clear();
    expect(sut.get('b')).toBeUndefined();
    expect(sut.get('c')).toBeUndefined();
  });

  describe('getOrLoad', () => {
    it('loads once, then serves from the cache until expiry', async () => {
      const clock = manualClock();
      const sut = new TtlCache<string>(1_000, 100, clock.now);
      let version = 0;
      const load = jest.fn(async () => `v${++version}`);

      expect(await sut.getOrLoad('k', load)).toBe('v1');
      expect(await sut.getOrLoad('k', load)).toBe('v1');
      expect(load).toHaveBeenCalledTimes(1);

      clock.advance(1_000);
      expect(await sut.getOrLoad('k', load)).toBe('v2');
      expect(load).toHaveBeenCalledTimes(2);
    });

    it('returns but does not cache a value loaded across a delete', async () => {
      const sut = new TtlCache<string>(60_000);
      const slow = deferred<string>();

      const pending = sut.getOrLoad('k', () => slow.promise);
      sut.delete('k'); // a write lands while the read is in flight
      slow.resolve('stale');

      expect(await pending).toBe('stale');
      expect(sut.get('k')).toBeUndefined();
      expect(await sut.getOrLoad('k', async () => 'fresh')).toBe('fresh');
      expect(sut.get('k')).toBe('fresh');
    });

    it('does not cache a value loaded across a clear', async () => {
      const sut = new TtlCache<string>(60_000);
      const slow = deferred<string>();

      const pending = sut.getOrLoad('k', () => slow.promise);
      sut.clear();
      slow.resolve('stale');
      await pending;

      expect(sut.get('k')).toBeUndefined();
    });

    it('caches a load that no invalidation raced', async () => {
      const sut = new TtlCache<string>(60_000);
      sut.delete('k'); // an invalidation before the load started does not matter

      await sut.getOrLoad('k', async () => 'value');

      expect(sut.get('k')).toBe('value');
    });

    it('caches nothing when the load fails', async () => {
      const sut = new TtlCache<string>(60_000);

      await expect(sut.getOrLoad('k', async () => Promise.reject(new Error('db down')))).rejects.toThrow('db down');
      expect(sut.get('k')).toBeUndefined();
    });
  });
});
