import { creditPoolLimit, poolInstants } from './credit-pool';

const T0 = Date.UTC(2026, 10, 1);
const at = (hours: number) => new Date(T0 + hours * 3_600_000);

/** Spend as a step function: [hour, all-time total at and after that hour]. */
function spend(steps: [number, number][]) {
  return (instant: Date) => {
    let total = 0;
    for (const [hour, value] of steps) if (at(hour).getTime() <= instant.getTime()) total = value;
    return total;
  };
}

describe('creditPoolLimit', () => {
  it('is the sum of grants when nothing expires (available = grants − spend)', () => {
    const sut = creditPoolLimit({
      grants: [
        { id: 'a', amount: 100, createdAt: at(0), expiresAt: null },
        { id: 'b', amount: 50, createdAt: at(1), expiresAt: null },
      ],
      consumedAt: spend([[2, 30]]),
      overdraft: 0,
      now: at(3),
    });
    expect(sut).toBe(150);
  });

  it('forfeits only the unused part of an expired grant (spend is not counted twice)', () => {
    const sut = creditPoolLimit({
      grants: [
        { id: 'promo', amount: 100, createdAt: at(0), expiresAt: at(10) },
        { id: 'paid', amount: 50, createdAt: at(0), expiresAt: null },
      ],
      consumedAt: spend([[5, 30]]),
      overdraft: 0,
      now: at(11),
    });
    // 30 came out of the promo (it expires first); its other 70 is forfeited: 30 spent + 50 left.
    expect(sut).toBe(80);
  });

  it('draws from the soonest-expiring grant first, grants without expiry last', () => {
    const sut = creditPoolLimit({
      grants: [
        { id: 'forever', amount: 100, createdAt: at(0), expiresAt: null },
        { id: 'late', amount: 100, createdAt: at(0), expiresAt: at(20) },
        { id: 'soon', amount: 40, createdAt: at(0), expiresAt: at(10) },
      ],
      consumedAt: spend([[5, 60]]),
      overdraft: 0,
      now: at(15),
    });
    // 40 from 'soon' (then expired, nothing left to forfeit), 20 from 'late'; 'forever' untouched.
    expect(sut).toBe(60 + 80 + 100);
  });

  it('does not draw spend from a grant that did not exist yet', () => {
    const sut = creditPoolLimit({
      grants: [
        { id: 'old', amount: 100, createdAt: at(0), expiresAt: null },
        { id: 'new-promo', amount: 100, createdAt: at(10), expiresAt: at(20) },
      ],
      consumedAt: spend([[5, 50]]),
      overdraft: 0,
      now: at(21),
    });
    // The 50 spent at hour 5 came from 'old'; the promo expired unused and is forfeited whole.
    expect(sut).toBe(50 + 50);
  });

  it('runs into the overdraft as debt, which the next grant pays first', () => {
    const base = { grants: [{ id: 'a', amount: 10, createdAt: at(0), expiresAt: null }], overdraft: 20 };
    expect(creditPoolLimit({ ...base, consumedAt: spend([[1, 25]]), now: at(2) })).toBe(25 + 0 + 20 - 15);
    const topped = creditPoolLimit({
      grants: [...base.grants, { id: 'top-up', amount: 100, createdAt: at(3), expiresAt: null }],
      overdraft: 20,
      consumedAt: spend([[1, 25]]),
      now: at(4),
    });
    // available = 85 left of the top-up + the overdraft again = limit − 25 spent.
    expect(topped - 25).toBe(85 + 20);
  });

  it('asks consumption only at grant events and now', () => {
    const grants = [
      { id: 'a', amount: 1, createdAt: at(0), expiresAt: at(5) },
      { id: 'b', amount: 1, createdAt: at(1), expiresAt: at(50) },
    ];
    expect(poolInstants(grants, at(10)).map((d) => d.getTime())).toEqual([at(0), at(1), at(5), at(10)].map((d) => d.getTime()));
  });
});
