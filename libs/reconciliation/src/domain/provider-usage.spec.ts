import { checkRecord, importerOf, providerRecordId, RawRecord, RunItem, summarize, usageHash } from './provider-usage';

const raw = (value: unknown, position = 0): RawRecord => ({
  position,
  value,
  field: (member) => (member === '' ? `records[${position}]` : `records[${position}].${member}`),
});

const good = { provider: 'runway', request_id: 'gen-1', usage: { video_seconds: 8 }, occurred_at: '2026-12-01T10:00:00Z' };

describe('provider usage records', () => {
  it('reads a valid record with exact decimal quantities', () => {
    const sut = checkRecord(raw({ ...good, usage: { video_seconds: '8.50', images: 3 }, dimensions: { resolution: '1080p' } }, 4));
    expect(sut).toEqual({
      ok: true,
      record: {
        position: 4,
        provider: 'runway',
        requestId: 'gen-1',
        usage: { video_seconds: '8.5', images: '3' },
        dimensions: { resolution: '1080p' },
        occurredAt: new Date('2026-12-01T10:00:00Z'),
      },
    });
  });

  it('names every bad field of a record, and an unknown one', () => {
    const sut = checkRecord(
      raw(
        {
          provider: 'run way',
          request_id: '',
          usage: { a: -1, 'b c': 1, d: '1e3' },
          dimensions: { r: 5 },
          occurred_at: '2026-12-01',
          x: 1,
        },
        2,
      ),
    );
    expect(sut.ok).toBe(false);
    if (sut.ok) return;
    expect(sut.errors.map((e) => e.field).sort()).toEqual([
      'records[2].dimensions.r',
      'records[2].occurred_at',
      'records[2].provider',
      'records[2].request_id',
      'records[2].usage',
      'records[2].usage.a',
      'records[2].usage.d',
      'records[2].x',
    ]);
  });

  it('refuses a record that is not an object, or has no usage', () => {
    expect(checkRecord(raw([1, 2], 7))).toEqual({
      ok: false,
      position: 7,
      errors: [{ field: 'records[7]', message: 'must be an object' }],
    });
    const empty = checkRecord(raw({ ...good, usage: {} }));
    expect(empty.ok || empty.errors).toEqual([{ field: 'records[0].usage', message: 'must name at least one dimension' }]);
  });

  it('hashes usage by value, not by spelling or key order; dimensions count', () => {
    const a = usageHash({ usage: { x: '8', y: '1.5' }, dimensions: { r: '1080p' } });
    expect(usageHash({ usage: { y: '1.5', x: '8' }, dimensions: { r: '1080p' } })).toBe(a);
    expect(usageHash({ usage: { x: '8', y: '1.5' }, dimensions: { r: '720p' } })).not.toBe(a);
    expect(usageHash({ usage: { x: '9', y: '1.5' }, dimensions: { r: '1080p' } })).not.toBe(a);
  });

  it('keeps each importer apart: ids differ per importer, environment, provider and request', () => {
    const sut = providerRecordId(importerOf('acme'), 'live', 'runway', 'gen-1');
    expect(sut).toMatch(/^pur_/);
    expect(providerRecordId(importerOf(null), 'live', 'runway', 'gen-1')).not.toBe(sut);
    expect(providerRecordId('acme', 'test', 'runway', 'gen-1')).not.toBe(sut);
    expect(providerRecordId('acme', 'live', 'runway', 'gen-2')).not.toBe(sut);
  });

  it('summarizes a run: counts per status and the net adjusted amount', () => {
    const item = (status: RunItem['status'], delta: number | null = null) => ({ status, delta }) as RunItem;
    expect(
      summarize([item('adjusted', 300), item('adjusted', -450), item('matched', 0), item('invalid'), item('duplicate')], {
        count: 2,
        truncated: false,
      }),
    ).toMatchObject({ records: 5, adjusted: 2, matched: 1, invalid: 1, duplicates: 1, adjusted_amount: -150, unmatched_commits: 2 });
  });
});
