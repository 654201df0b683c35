import { chargeFor, reservationIdFor, statusOf } from './reservation';

describe('chargeFor', () => {
  it('charges the usage itself up to the hold, whatever the policy', () => {
    for (const policy of ['allow', 'cap_at_hold', 'allow_up_to_percent'] as const) {
      expect(chargeFor(0, 100, policy, 10)).toBe(0);
      expect(chargeFor(60, 100, policy, 10)).toBe(60);
      expect(chargeFor(100, 100, policy, 10)).toBe(100);
    }
  });

  it('above the hold: allow charges all, cap_at_hold the hold, allow_up_to_percent at most hold + percent (rounded down)', () => {
    expect(chargeFor(250, 100, 'allow', null)).toBe(250);
    expect(chargeFor(250, 100, 'cap_at_hold', null)).toBe(100);
    expect(chargeFor(250, 100, 'allow_up_to_percent', 10)).toBe(110);
    expect(chargeFor(105, 100, 'allow_up_to_percent', 10)).toBe(105);
    expect(chargeFor(2000, 999, 'allow_up_to_percent', 1)).toBe(999 + 9);
  });

  it('stays exact near 2^53', () => {
    const held = 2 ** 52;
    expect(chargeFor(Number.MAX_SAFE_INTEGER, held, 'allow_up_to_percent', 50)).toBe(held + held / 2);
  });
});

describe('reservationIdFor', () => {
  it('is the same for a retry and differs by organization, environment and key', () => {
    const sut = reservationIdFor('acme', 'live', 'k1');
    expect(reservationIdFor('acme', 'live', 'k1')).toBe(sut);
    expect(new Set([sut, reservationIdFor('acme', 'test', 'k1'), reservationIdFor('acme2', 'live', 'k1'), reservationIdFor('acme', 'live', 'k2')]).size).toBe(4);
    expect(sut).toMatch(/^res_[A-Za-z0-9_-]{24}$/);
  });
});

describe('statusOf', () => {
  const now = new Date('2026-11-28T12:00:00Z');
  it('is held until the expiry, expired from it, and the outcome once there is one', () => {
    expect(statusOf({ outcome: null, currentExpiresAt: new Date(now.getTime() + 1) }, now)).toBe('held');
    expect(statusOf({ outcome: null, currentExpiresAt: now }, now)).toBe('expired');
    expect(statusOf({ outcome: { status: 'committed' } as never, currentExpiresAt: new Date(now.getTime() + 1) }, now)).toBe('committed');
  });
});
