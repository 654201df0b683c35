import { RefreshingCache } from './refreshing-cache';

function manualClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('RefreshingCache', () => {
  it('loads a missing entry once for every caller that asks meanwhile', async () => {
    const sut = new RefreshingCache<string>(1_000);
    const slow = deferred<string>();
    const load = jest.fn(() => slow.promise);

    const a = sut.get('k', load);
    const b = sut.get('k', load);
    slow.resolve('v1');

    expect(await Promise.all([a, b])).toEqual(['v1', 'v1']);
    expect(load).toHaveBeenCalledTimes(1);
  });

  it('serves a warm entry without calling the loader', async () => {
    const sut = new RefreshingCache<string>(1_000);
    await sut.get('k', async () => 'v1');
    const load = jest.fn(async () => 'v2');

    expect(await sut.get('k', load)).toBe('v1');
    expect(load).not.toHaveBeenCalled();
  });

  it('serves an old entry at once and refreshes it in the background, once', async () => {
    const clock = manualClock();
    const sut = new RefreshingCache<string>(1_000, undefined, 100, clock.now);
    await sut.get('k', async () => 'v1');
    clock.advance(1_000);
    const slow = deferred<string>();
    const load = jest.fn(() => slow.promise);

    expect(await sut.get('k', load)).toBe('v1');
    expect(await sut.get('k', load)).toBe('v1');
    expect(load).toHaveBeenCalledTimes(1);

    slow.resolve('v2');
    await tick();
    expect(await sut.get('k', load)).toBe('v2');
  });

  it('keeps the old value when a background refresh fails, and tries again a period later', async () => {
    const clock = manualClock();
    const errors: unknown[] = [];
    const sut = new RefreshingCache<string>(1_000, (_, e) => errors.push(e), 100, clock.now);
    await sut.get('k', async () => 'v1');
    clock.advance(1_000);
    const failing = jest.fn(async () => Promise.reject(new Error('db down')));

    expect(await sut.get('k', failing)).toBe('v1');
    await tick();
    expect(errors).toHaveLength(1);
    expect(await sut.get('k', failing)).toBe('v1');
    expect(failing).toHaveBeenCalledTimes(1);

    clock.advance(1_000);
    await sut.get('k', async () => 'v2');
    await tick();
    expect(await sut.get('k', failing)).toBe('v2');
  });

  it('after an invalidation, loads again and never stores a value read before it', async () => {
    const sut = new RefreshingCache<string>(60_000);
    const stale = deferred<string>();
    const pending = sut.get('k', () => stale.promise);

    sut.invalidate('k'); // a write lands while the read is in flight
    const fresh = sut.get('k', async () => 'fresh');
    stale.resolve('stale');

    expect(await pending).toBe('stale');
    expect(await fresh).toBe('fresh');
    expect(await sut.get('k', async () => 'other')).toBe('fresh');
  });

  it('does not cache a failed load', async () => {
    const sut = new RefreshingCache<string>(60_000);
    await expect(sut.get('k', async () => Promise.reject(new Error('db down')))).rejects.toThrow('db down');
    expect(await sut.get('k', async () => 'v')).toBe('v');
  });

  it('caches nothing with a refresh period of 0', async () => {
    const sut = new RefreshingCache<string>(0);
    const load = jest.fn(async () => 'v');
    await sut.get('k', load);
    await sut.get('k', load);
    expect(load).toHaveBeenCalledTimes(2);
  });

  it('evicts the oldest entry when full', async () => {
    const sut = new RefreshingCache<number>(60_000, undefined, 2);
    await sut.get('a', async () => 1);
    await sut.get('b', async () => 2);
    await sut.get('c', async () => 3);
    expect(sut.peek('a')).toBeUndefined();
    expect(sut.peek('c')).toBe(3);
  });
});
