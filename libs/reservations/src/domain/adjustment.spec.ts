import { adjustmentEntryId, correctionEventId, correctionEvents, corrections, targetLines } from './adjustment';

describe('adjustments', () => {
  it('derives ids from the reservation and the sequence number, distinct from the commit and from each other', () => {
    const sut = adjustmentEntryId('res_a.org', 1);
    expect(sut).toMatch(/^use_[A-Za-z0-9_-]{32}$/);
    expect(adjustmentEntryId('res_a.org', 1)).toBe(sut);
    expect(adjustmentEntryId('res_a.org', 2)).not.toBe(sut);
    expect(adjustmentEntryId('res_b.org', 1)).not.toBe(sut);
    expect(correctionEventId('res_a.org', 1, 'input_tokens')).not.toBe(correctionEventId('res_a.org', 2, 'input_tokens'));
    expect(correctionEventId('res_a.org', 1, null)).toMatch(/^evt_[A-Za-z0-9_-]{32}$/);
  });

  it('splits a capped charge over the target lines in proportion, summing exactly', () => {
    const sut = targetLines(
      [
        { dimension: 'input_tokens', amount: 15_000 },
        { dimension: 'output_tokens', amount: 30_000 },
        { dimension: 'output_tokens', amount: 7_020 },
      ],
      { input_tokens: 1_500, output_tokens: 1_234 },
      50_000,
    );
    expect(sut.map((l) => l.dimension)).toEqual(['input_tokens', 'output_tokens']);
    expect(sut[0].amount + sut[1].amount).toBe(50_000);
    expect(sut[1].quantity).toBe('1234');
  });

  it('moves each dimension by target minus charged, positive or negative, and takes back a dimension the target lacks', () => {
    const sut = corrections(
      [
        { dimension: 'input_tokens', amount: 20_000, quantity: '2000' },
        { dimension: 'output_tokens', amount: 30_000, quantity: '1000' },
      ],
      [
        { dimension: 'input_tokens', amount: 15_000, quantity: '1500' },
        { dimension: 'output_tokens', amount: 30_000, quantity: '1000' },
        { dimension: 'images', amount: 4_000, quantity: '2.5' },
      ],
    );
    expect(sut).toEqual([
      { dimension: 'input_tokens', amount: 5_000, quantity: '500' },
      { dimension: 'images', amount: -4_000, quantity: '-2.5' },
    ]);
    expect(sut.reduce((a, c) => a + c.amount, 0)).toBe(50_000 - 49_000);
  });

  it('keeps a quantity-only move (a capped charge that did not change) so vendor meters stay right', () => {
    expect(
      corrections(
        [{ dimension: 'video_seconds', amount: 100, quantity: '9' }],
        [{ dimension: 'video_seconds', amount: 100, quantity: '8' }],
      ),
    ).toEqual([{ dimension: 'video_seconds', amount: 0, quantity: '1' }]);
    expect(
      corrections(
        [{ dimension: 'video_seconds', amount: 100, quantity: '8' }],
        [{ dimension: 'video_seconds', amount: 100, quantity: '8.0' }],
      ),
    ).toEqual([]);
  });

  it('makes correction events with derived ids, the rate of each dimension and zero variance fields', () => {
    const events = correctionEvents(
      {
        reservationId: 'res_x.o',
        n: 2,
        orgId: 'o',
        environment: 'live',
        projectId: 'p',
        userId: 'u',
        product: 'llm.chat',
        dimensions: { model: 'large' },
        rateCardId: 'rc_1',
        rateIds: { input_tokens: 'rate_1' },
        provider: 'openai',
        providerRequestId: 'req-1',
        occurredAt: new Date('2026-12-01T00:00:00Z'),
      },
      [{ dimension: 'input_tokens', amount: -5, quantity: '-1' }],
    );
    expect(events).toEqual([
      expect.objectContaining({
        id: correctionEventId('res_x.o', 2, 'input_tokens'),
        kind: 'correction',
        line: 0,
        amount: -5,
        quantity: '-1',
        rateId: 'rate_1',
        estimate: 0,
        variance: 0,
      }),
    ]);
  });
});
