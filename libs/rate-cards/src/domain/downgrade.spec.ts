import { DowngradeLadder, downgradeAlternatives, validateLadder } from './downgrade';

const RESOLUTIONS: DowngradeLadder = {
  product: 'video.generate',
  ladder: [{ dimensions: { resolution: '1080p' } }, { dimensions: { resolution: '720p' } }, { dimensions: { resolution: '480p' } }],
};

describe('downgradeAlternatives', () => {
  it('offers the steps strictly below the requested one, in order', () => {
    expect(downgradeAlternatives(RESOLUTIONS, { product: 'video.generate', dimensions: { resolution: '1080p' } })).toEqual([
      { product: 'video.generate', dimensions: { resolution: '720p' } },
      { product: 'video.generate', dimensions: { resolution: '480p' } },
    ]);
    expect(downgradeAlternatives(RESOLUTIONS, { product: 'video.generate', dimensions: { resolution: '720p' } })).toEqual([
      { product: 'video.generate', dimensions: { resolution: '480p' } },
    ]);
    expect(downgradeAlternatives(RESOLUTIONS, { product: 'video.generate', dimensions: { resolution: '480p' } })).toEqual([]);
  });

  it('offers nothing to a request on no step', () => {
    expect(downgradeAlternatives(RESOLUTIONS, { product: 'video.generate', dimensions: { resolution: '4k' } })).toEqual([]);
    expect(downgradeAlternatives(RESOLUTIONS, { product: 'video.generate', dimensions: {} })).toEqual([]);
    expect(downgradeAlternatives(RESOLUTIONS, { product: 'image.generate', dimensions: { resolution: '1080p' } })).toEqual([]);
  });

  it("merges a step's dimensions over the request's: only what the step names changes", () => {
    expect(downgradeAlternatives(RESOLUTIONS, { product: 'video.generate', dimensions: { resolution: '720p', fps: '60' } })).toEqual([
      { product: 'video.generate', dimensions: { resolution: '480p', fps: '60' } },
    ]);
  });

  it('steps may name other products', () => {
    const ladder: DowngradeLadder = {
      product: 'video.pro',
      ladder: [{}, { product: 'video.fast' }, { product: 'video.fast', dimensions: { resolution: '480p' } }],
    };
    expect(downgradeAlternatives(ladder, { product: 'video.pro', dimensions: { resolution: '1080p' } })).toEqual([
      { product: 'video.fast', dimensions: { resolution: '1080p' } },
      { product: 'video.fast', dimensions: { resolution: '480p' } },
    ]);
    expect(downgradeAlternatives(ladder, { product: 'video.fast', dimensions: { resolution: '1080p' } })).toEqual([
      { product: 'video.fast', dimensions: { resolution: '480p' } },
    ]);
  });

  it('a request on several steps is on the lowest of them', () => {
    const ladder: DowngradeLadder = {
      product: 'video.generate',
      ladder: [{}, { dimensions: { resolution: '720p' } }, { dimensions: { resolution: '480p' } }],
    };
    expect(downgradeAlternatives(ladder, { product: 'video.generate', dimensions: { resolution: '720p' } })).toEqual([
      { product: 'video.generate', dimensions: { resolution: '480p' } },
    ]);
    expect(downgradeAlternatives(ladder, { product: 'video.generate', dimensions: { resolution: '1080p' } })).toEqual([
      { product: 'video.generate', dimensions: { resolution: '720p' } },
      { product: 'video.generate', dimensions: { resolution: '480p' } },
    ]);
  });

  it('offers the same alternative once', () => {
    const ladder: DowngradeLadder = {
      product: 'llm.chat',
      ladder: [
        { dimensions: { model: 'large' } },
        { dimensions: { tier: 'batch' } },
        { dimensions: { model: 'small' } },
        { dimensions: { model: 'small', tier: 'batch' } },
      ],
    };
    expect(downgradeAlternatives(ladder, { product: 'llm.chat', dimensions: { model: 'large', tier: 'batch' } })).toEqual([
      { product: 'llm.chat', dimensions: { model: 'small', tier: 'batch' } },
    ]);
  });
});

describe('validateLadder', () => {
  it('accepts the API examples', () => {
    expect(validateLadder(RESOLUTIONS)).toEqual([]);
    expect(validateLadder({ product: 'video.pro', ladder: [{}, { product: 'video.fast' }] })).toEqual([]);
  });

  it('reports problems with their paths', () => {
    expect(
      validateLadder({
        product: 'video generate',
        ladder: [
          { dimensions: { resolution: '1080p' } },
          { product: 'a/b' },
          { dimensions: { resolution: '' } },
          { dimensions: { resolution: '1080p' } },
          null as never,
        ],
      }),
    ).toEqual([
      { field: 'ladder.product', message: expect.any(String) },
      { field: 'ladder.ladder[1].product', message: expect.any(String) },
      { field: 'ladder.ladder[2].dimensions.resolution', message: expect.any(String) },
      { field: 'ladder.ladder[3]', message: 'repeats step 0' },
      { field: 'ladder.ladder[4]', message: 'must be an object' },
    ]);
  });

  it('needs two to 16 steps', () => {
    expect(validateLadder({ product: 'p', ladder: [{}] })).toEqual([
      { field: 'ladder.ladder', message: 'must be a list of 2 to 16 steps' },
    ]);
    expect(validateLadder({ product: 'p', ladder: Array.from({ length: 17 }, (_, i) => ({ dimensions: { n: String(i) } })) })).toHaveLength(
      1,
    );
  });
});
