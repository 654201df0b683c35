import { KeyRateLimiter } from './rate-limit';

describe('KeyRateLimiter', () => {
  it('lets a burst through, then refuses until tokens come back at the rate', () => {
    const sut = new KeyRateLimiter(10, 20);
    const t0 = 1_000_000;
    for (let i = 0; i < 20; i++) expect(sut.take('k', t0)).toBe(0);
    expect(sut.take('k', t0)).toBe(1);
    // 100 ms later one token is back (10 a second), and only one.
    expect(sut.take('k', t0 + 100)).toBe(0);
    expect(sut.take('k', t0 + 100)).toBeGreaterThan(0);
    // A full second refills ten.
    for (let i = 0; i < 10; i++) expect(sut.take('k', t0 + 1_100)).toBe(0);
    expect(sut.take('k', t0 + 1_100)).toBeGreaterThan(0);
  });

  it('keeps keys apart, and says how long to wait', () => {
    const sut = new KeyRateLimiter(0.5, 1);
    expect(sut.take('a', 0)).toBe(0);
    expect(sut.take('a', 0)).toBe(2);
    expect(sut.take('b', 0)).toBe(0);
    expect(sut.take('a', 2_000)).toBe(0);
  });
});
