import { fieldPath, underField } from './field-path';

describe('fieldPath', () => {
  it('joins keys with dots and puts array indices in brackets', () => {
    expect(fieldPath('items', 0, 'allow_downgrade')).toBe('items[0].allow_downgrade');
    expect(fieldPath('rates', 0, 'starting_at')).toBe('rates[0].starting_at');
    expect(fieldPath('usage', 'video_seconds')).toBe('usage.video_seconds');
    expect(fieldPath('rates', 1, 'tiers', 0, 'up_to')).toBe('rates[1].tiers[0].up_to');
  });

  it('takes paths as segments and skips empty ones (the top level)', () => {
    expect(fieldPath('', 'amount')).toBe('amount');
    expect(fieldPath('items[2]', 'usage.video_seconds')).toBe('items[2].usage.video_seconds');
    expect(fieldPath('items', '[3]')).toBe('items[3]');
    expect(fieldPath(0, 'name')).toBe('[0].name');
    expect(fieldPath()).toBe('');
  });

  it('names errors under a prefix', () => {
    expect(underField('items[1]', [{ field: 'usage.x', message: 'm' }])).toEqual([{ field: 'items[1].usage.x', message: 'm' }]);
  });
});
