import { chargeFor } from './overage';

describe('chargeFor', () => {
  it('charges the usage itself up to the hold, whatever the rule', () => {
    for (const rule of [{ kind: 'allow' }, { kind: 'cap_at_hold' }, { kind: 'up_to_percent', percent: 10 }] as const) {
      expect(chargeFor(0, 100, rule)).toBe(0);
      expect(chargeFor(60, 100, rule)).toBe(60);
      expect(chargeFor(100, 100, rule)).toBe(100);
    }
  });

  it('above the hold: allow charges all, cap_at_hold the hold, up_to_percent at most hold + percent (rounded down)', () => {
    expect(chargeFor(250, 100, { kind: 'allow' })).toBe(250);
    expect(chargeFor(250, 100, { kind: 'cap_at_hold' })).toBe(100);
    expect(chargeFor(250, 100, { kind: 'up_to_percent', percent: 10 })).toBe(110);
    expect(chargeFor(105, 100, { kind: 'up_to_percent', percent: 10 })).toBe(105);
    expect(chargeFor(2000, 999, { kind: 'up_to_percent', percent: 1 })).toBe(999 + 9);
    expect(chargeFor(2000, 999, { kind: 'up_to_percent', percent: 0 })).toBe(999);
  });

  it('stays exact near 2^53', () => {
    const held = 2 ** 52 + 1;
    expect(chargeFor(Number.MAX_SAFE_INTEGER, held, { kind: 'up_to_percent', percent: 50 })).toBe(held + Math.floor((held - 1) / 2));
    expect(chargeFor(Number.MAX_SAFE_INTEGER, held, { kind: 'up_to_percent', percent: 1000 })).toBe(Number.MAX_SAFE_INTEGER);
  });
});
