import { checkSettings, DEFAULT_SETTINGS, definedSettings, MAX_AMOUNT, mergeSettings, OrgSettings } from './org-settings';

const CEILING = 86_400;

function settings(overrides: Partial<Record<keyof OrgSettings, unknown>> = {}): OrgSettings {
  return { ...mergeSettings({}), ...overrides } as OrgSettings;
}

function fieldsOf(errors: { field: string }[]): string[] {
  return errors.map((e) => e.field);
}

describe('checkSettings', () => {
  it('accepts the defaults', () => {
    expect(checkSettings(settings(), CEILING)).toEqual([]);
  });

  it('accepts the edges of every range', () => {
    const sut = settings({
      auto_create: false,
      default_ttl_seconds: 1,
      max_ttl_seconds: CEILING,
      past_due_policy: 'grace',
      past_due_grace_amount: MAX_AMOUNT,
      overdraft_limit: 0,
      budget_alert_thresholds: [1, 100],
    });

    expect(checkSettings(sut, CEILING)).toEqual([]);
  });

  it('refuses a default TTL above the maximum TTL, naming default_ttl_seconds', () => {
    const errors = checkSettings(settings({ default_ttl_seconds: 901, max_ttl_seconds: 900 }), CEILING);

    expect(errors).toEqual([{ field: 'settings.default_ttl_seconds', message: 'default_ttl_seconds must not exceed max_ttl_seconds' }]);
  });

  it('accepts a default TTL equal to the maximum', () => {
    expect(checkSettings(settings({ default_ttl_seconds: 600, max_ttl_seconds: 600 }), CEILING)).toEqual([]);
  });

  it('bounds both TTLs by the deployment ceiling (MAX_TTL_SECONDS)', () => {
    const errors = checkSettings(settings({ default_ttl_seconds: 1000, max_ttl_seconds: 1000 }), 900);

    expect(fieldsOf(errors)).toEqual(['settings.max_ttl_seconds', 'settings.default_ttl_seconds']);
    expect(errors[0].message).toBe('max_ttl_seconds must be a whole number from 1 to 900');
  });

  it('reports only the range error, not default>max, when a TTL is itself out of range', () => {
    const errors = checkSettings(settings({ default_ttl_seconds: 900, max_ttl_seconds: 0 }), CEILING);

    expect(fieldsOf(errors)).toEqual(['settings.max_ttl_seconds']);
  });

  it.each([
    ['a fraction', 1.5],
    ['a negative number', -1],
    ['a numeric string', '100'],
    ['beyond 2^53 - 1', MAX_AMOUNT + 1],
  ])('refuses %s as an amount', (_, amount) => {
    const errors = checkSettings(settings({ overdraft_limit: amount, past_due_grace_amount: amount }), CEILING);

    expect(fieldsOf(errors)).toEqual(['settings.past_due_grace_amount', 'settings.overdraft_limit']);
    expect(errors[1].message).toBe(`overdraft_limit must be a whole number of micro-credits from 0 to ${MAX_AMOUNT}`);
  });

  it('refuses a fractional TTL', () => {
    expect(fieldsOf(checkSettings(settings({ default_ttl_seconds: 10.5 }), CEILING))).toEqual(['settings.default_ttl_seconds']);
  });

  it('refuses a non-boolean auto_create and an unknown past_due_policy', () => {
    const errors = checkSettings(settings({ auto_create: 'yes', past_due_policy: 'forgive' }), CEILING);

    expect(fieldsOf(errors)).toEqual(['settings.auto_create', 'settings.past_due_policy']);
    expect(errors[1].message).toBe('past_due_policy must be one of refuse, grace');
  });

  it.each([
    ['descending', [100, 80]],
    ['repeated', [80, 80]],
    ['below 1', [0, 50]],
    ['above 100', [50, 101]],
    ['fractional', [50.5]],
    ['more than 10', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]],
    ['not an array', 80],
  ])('refuses budget alert thresholds that are %s', (_, thresholds) => {
    const errors = checkSettings(settings({ budget_alert_thresholds: thresholds }), CEILING);

    expect(errors).toEqual([
      {
        field: 'settings.budget_alert_thresholds',
        message: 'budget_alert_thresholds must be at most 10 ascending whole numbers from 1 to 100',
      },
    ]);
  });

  it('accepts ten strictly ascending thresholds, and none at all', () => {
    expect(checkSettings(settings({ budget_alert_thresholds: [10, 20, 30, 40, 50, 60, 70, 80, 90, 100] }), CEILING)).toEqual([]);
    expect(checkSettings(settings({ budget_alert_thresholds: [] }), CEILING)).toEqual([]);
  });

  it('lists every bad field at once', () => {
    const errors = checkSettings(
      settings({ auto_create: 1, max_ttl_seconds: -5, overdraft_limit: 0.5, budget_alert_thresholds: [90, 10] }),
      CEILING,
    );

    expect(fieldsOf(errors)).toEqual([
      'settings.auto_create',
      'settings.max_ttl_seconds',
      'settings.overdraft_limit',
      'settings.budget_alert_thresholds',
    ]);
  });

  it('prefixes field paths as the endpoint asks', () => {
    const sut = settings({ overdraft_limit: -1 });

    expect(fieldsOf(checkSettings(sut, CEILING, ''))).toEqual(['overdraft_limit']);
    expect(fieldsOf(checkSettings(sut, CEILING))).toEqual(['settings.overdraft_limit']);
  });
});

describe('mergeSettings', () => {
  it('fills every field a stored document leaves out with its default', () => {
    expect(mergeSettings({})).toEqual(DEFAULT_SETTINGS);
    expect(mergeSettings({ overdraft_limit: 5_000_000 })).toEqual({ ...DEFAULT_SETTINGS, overdraft_limit: 5_000_000 });
  });

  it('keeps stored values over defaults, including falsy ones', () => {
    const sut = mergeSettings({ auto_create: false, past_due_grace_amount: 0, budget_alert_thresholds: [] });

    expect(sut.auto_create).toBe(false);
    expect(sut.past_due_grace_amount).toBe(0);
    expect(sut.budget_alert_thresholds).toEqual([]);
  });

  it('never shares the thresholds array with the defaults or the stored document', () => {
    const stored = { budget_alert_thresholds: [50] };
    const fromStored = mergeSettings(stored);
    const fromDefaults = mergeSettings({});

    fromStored.budget_alert_thresholds.push(90);
    fromDefaults.budget_alert_thresholds.push(101);

    expect(stored.budget_alert_thresholds).toEqual([50]);
    expect(DEFAULT_SETTINGS.budget_alert_thresholds).toEqual([80, 100]);
    expect(mergeSettings({}).budget_alert_thresholds).toEqual([80, 100]);
  });
});

describe('definedSettings', () => {
  it('drops the fields a partial document leaves undefined', () => {
    const sut = definedSettings({ auto_create: undefined, max_ttl_seconds: 600, overdraft_limit: undefined });

    expect(sut).toEqual({ max_ttl_seconds: 600 });
    expect(Object.keys(sut)).toEqual(['max_ttl_seconds']);
  });

  it('keeps falsy values that were set', () => {
    expect(definedSettings({ auto_create: false, overdraft_limit: 0, budget_alert_thresholds: [] })).toEqual({
      auto_create: false,
      overdraft_limit: 0,
      budget_alert_thresholds: [],
    });
  });

  it('lets a partial document never hide a stored value once merged', () => {
    const stored = { max_ttl_seconds: 1_200 };
    const patch = { max_ttl_seconds: undefined, auto_create: false };

    expect(mergeSettings({ ...stored, ...definedSettings(patch) })).toMatchObject({ max_ttl_seconds: 1_200, auto_create: false });
  });
});
