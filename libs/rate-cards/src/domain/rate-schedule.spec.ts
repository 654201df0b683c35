import { Rate } from './rate';
import { scheduleAdditions, Scheduled } from './rate-schedule';

const T = (hour: number): Date => new Date(Date.UTC(2026, 0, 1, hour));

function rate(id: string, fields: Partial<Rate> = {}): Rate {
  return {
    id,
    product: 'video',
    dimension: 'seconds',
    match: {},
    model: 'flat',
    unit_price: '1',
    tier_scope: 'request',
    starting_at: T(0),
    ending_before: null,
    ...fields,
  };
}

const windows = (items: Scheduled[]) =>
  items.map((i) => [i.id, i.starting_at?.getUTCHours() ?? null, i.ending_before?.getUTCHours() ?? null]);

describe('scheduleAdditions', () => {
  it('ends the rate of the same identity in force at the new start, and leaves the new rate open', () => {
    const sut = scheduleAdditions([rate('old')], [rate('new', { starting_at: T(5) })]);
    expect(windows(sut.existing)).toEqual([['old', 0, 5]]);
    expect(windows(sut.added)).toEqual([['new', 5, null]]);
    expect(sut.ended).toEqual([{ id: 'old', ending_before: T(5), previous: null }]);
  });

  it('runs a new rate until the next scheduled one of its identity, and brings a finite end forward', () => {
    const existing = [rate('now', { ending_before: T(10) }), rate('later', { starting_at: T(10) })];
    const sut = scheduleAdditions(existing, [rate('between', { starting_at: T(5) })]);
    expect(windows(sut.existing)).toEqual([
      ['now', 0, 5],
      ['later', 10, null],
    ]);
    expect(windows(sut.added)).toEqual([['between', 5, 10]]);
    expect(sut.ended).toEqual([{ id: 'now', ending_before: T(5), previous: T(10) }]);
  });

  it('touches no other identity (another match, dimension or product)', () => {
    const existing = [
      rate('hd', { match: { resolution: '1080p' } }),
      rate('frames', { dimension: 'frames' }),
      rate('image', { product: 'image' }),
    ];
    const sut = scheduleAdditions(existing, [rate('new', { starting_at: T(5) })]);
    expect(sut.ended).toEqual([]);
    expect(sut.existing.every((r) => r.ending_before === null)).toBe(true);
  });

  it('leaves a rate starting at the same instant, or an explicit end past the next start, for validation to refuse', () => {
    const existing = [rate('old'), rate('later', { starting_at: T(10) })];
    const sameStart = scheduleAdditions(existing, [rate('clash', { starting_at: T(10) })]);
    expect(windows(sameStart.added)).toEqual([['clash', 10, null]]);
    const explicit = scheduleAdditions(existing, [rate('long', { starting_at: T(5), ending_before: T(12) })]);
    expect(windows(explicit.added)).toEqual([['long', 5, 12]]);
  });

  it('chains several additions of one identity in one call, whatever their order in the list', () => {
    const sut = scheduleAdditions(
      [rate('old')],
      [rate('c', { starting_at: T(9) }), rate('a', { starting_at: T(3) }), rate('b', { starting_at: T(6) })],
    );
    expect(windows(sut.existing)).toEqual([['old', 0, 3]]);
    expect(windows(sut.added)).toEqual([
      ['c', 9, null],
      ['a', 3, 6],
      ['b', 6, 9],
    ]);
  });

  it('treats an override without a start as in force since the beginning of time', () => {
    const open: Scheduled = { id: 'o1', product: 'video', dimension: 'seconds', match: {}, starting_at: null, ending_before: null };
    const sut = scheduleAdditions([open], [{ ...open, id: 'o2', starting_at: T(4) }]);
    expect(sut.ended).toEqual([{ id: 'o1', ending_before: T(4), previous: null }]);
  });

  it('does not change its arguments, and skips items it cannot read', () => {
    const existing = [rate('old')];
    const bad = { ...rate('bad'), match: null } as unknown as Rate;
    const sut = scheduleAdditions(existing, [bad, rate('new', { starting_at: T(2) })]);
    expect(existing[0].ending_before).toBeNull();
    expect(sut.added[0]).toEqual(bad);
    expect(sut.ended).toHaveLength(1);
  });
});
