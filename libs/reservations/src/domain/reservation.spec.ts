import { orgOfReservationId, reservationIdFor, statusOf } from './reservation';

describe('reservationIdFor', () => {
  it('is the same for a retry and differs by organization, environment and key', () => {
    const sut = reservationIdFor('acme', 'live', 'k1');
    expect(reservationIdFor('acme', 'live', 'k1')).toBe(sut);
    expect(
      new Set([
        sut,
        reservationIdFor('acme', 'test', 'k1'),
        reservationIdFor('acme2', 'live', 'k1'),
        reservationIdFor('acme', 'live', 'k2'),
      ]).size,
    ).toBe(4);
    expect(sut).toMatch(/^res_[A-Za-z0-9_-]{24}\.acme$/);
    expect(orgOfReservationId(sut)).toBe('acme');
    expect(orgOfReservationId(reservationIdFor('a.b:c', 'test', 'k'))).toBe('a.b:c');
    expect(orgOfReservationId('res_abcdefghijklmnopqrstuvwx')).toBeNull();
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
