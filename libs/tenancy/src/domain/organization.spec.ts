import { applyOrganizationPatch, checkOrganization, Organization, snapshotOrganization } from './organization';

const CREATED = new Date('2026-01-01T00:00:00Z');
const LATER = new Date('2026-02-01T12:00:00Z');

function organization(overrides: Partial<Organization> = {}): Organization {
  return {
    id: 'acme',
    name: 'Acme',
    status: 'active',
    statusChangedAt: CREATED,
    rateCardId: null,
    overagePolicy: 'cap_at_hold',
    overagePercent: null,
    createdAt: CREATED,
    updatedAt: CREATED,
    ...overrides,
  };
}

describe('statusChangedAt', () => {
  it('moves when the status changes, and only then', () => {
    expect(applyOrganizationPatch(organization(), { status: 'past_due' }, LATER).statusChangedAt).toEqual(LATER);
    expect(applyOrganizationPatch(organization(), { status: 'active', name: 'New' }, LATER).statusChangedAt).toEqual(CREATED);
  });
});

describe('checkOrganization', () => {
  it.each(['allow', 'cap_at_hold'] as const)('accepts %s without a percentage', (overagePolicy) => {
    expect(checkOrganization({ overagePolicy, overagePercent: null })).toEqual([]);
  });

  it('accepts allow_up_to_percent with a percentage, including 0', () => {
    expect(checkOrganization({ overagePolicy: 'allow_up_to_percent', overagePercent: 10 })).toEqual([]);
    expect(checkOrganization({ overagePolicy: 'allow_up_to_percent', overagePercent: 0 })).toEqual([]);
  });

  it('requires overage_percent with allow_up_to_percent', () => {
    expect(checkOrganization({ overagePolicy: 'allow_up_to_percent', overagePercent: null })).toEqual([
      { field: 'overage_percent', message: 'overage_percent is required when overage_policy is allow_up_to_percent' },
    ]);
  });

  it.each(['allow', 'cap_at_hold'] as const)('refuses overage_percent with %s', (overagePolicy) => {
    expect(checkOrganization({ overagePolicy, overagePercent: 5 })).toEqual([
      { field: 'overage_percent', message: 'overage_percent applies only to overage_policy allow_up_to_percent' },
    ]);
  });
});

describe('applyOrganizationPatch', () => {
  it('changes the fields the patch sets, keeps the others, and stamps updatedAt', () => {
    const before = organization();

    const sut = applyOrganizationPatch(before, { name: 'Acme Corp', status: 'suspended' }, LATER);

    expect(sut).toEqual({ ...before, name: 'Acme Corp', status: 'suspended', statusChangedAt: LATER, updatedAt: LATER });
    expect(sut.createdAt).toBe(CREATED);
  });

  it('does not modify the organization it was given', () => {
    const before = organization();

    applyOrganizationPatch(before, { name: 'Other' }, LATER);

    expect(before.name).toBe('Acme');
    expect(before.updatedAt).toBe(CREATED);
  });

  it('ignores fields the patch leaves undefined', () => {
    const before = organization({ rateCardId: 'rc_1' });

    const sut = applyOrganizationPatch(before, { name: undefined, rateCardId: undefined }, LATER);

    expect(sut.name).toBe('Acme');
    expect(sut.rateCardId).toBe('rc_1');
  });

  it('clears the rate card on an explicit null', () => {
    const sut = applyOrganizationPatch(organization({ rateCardId: 'rc_1' }), { rateCardId: null }, LATER);

    expect(sut.rateCardId).toBeNull();
  });

  it('drops overage_percent when switching away from allow_up_to_percent', () => {
    const before = organization({ overagePolicy: 'allow_up_to_percent', overagePercent: 20 });

    const sut = applyOrganizationPatch(before, { overagePolicy: 'allow' }, LATER);

    expect(sut.overagePolicy).toBe('allow');
    expect(sut.overagePercent).toBeNull();
    expect(checkOrganization(sut)).toEqual([]);
  });

  it('keeps an explicit overage_percent sent with another policy, so the check refuses it', () => {
    const before = organization({ overagePolicy: 'allow_up_to_percent', overagePercent: 20 });

    const sut = applyOrganizationPatch(before, { overagePolicy: 'cap_at_hold', overagePercent: 30 }, LATER);

    expect(sut.overagePercent).toBe(30);
    expect(checkOrganization(sut)).toHaveLength(1);
  });

  it('keeps the percentage when the policy stays allow_up_to_percent', () => {
    const before = organization({ overagePolicy: 'allow_up_to_percent', overagePercent: 20 });

    expect(applyOrganizationPatch(before, { name: 'Renamed' }, LATER).overagePercent).toBe(20);
    expect(applyOrganizationPatch(before, { overagePolicy: 'allow_up_to_percent' }, LATER).overagePercent).toBe(20);
    expect(applyOrganizationPatch(before, { overagePercent: 50 }, LATER).overagePercent).toBe(50);
  });

  it('switching to allow_up_to_percent without a percentage leaves it missing, which the check refuses', () => {
    const sut = applyOrganizationPatch(organization(), { overagePolicy: 'allow_up_to_percent' }, LATER);

    expect(sut.overagePercent).toBeNull();
    expect(checkOrganization(sut)).toEqual([expect.objectContaining({ field: 'overage_percent' })]);
  });
});

describe('snapshotOrganization', () => {
  it('gives the audit log the client-facing snake_case fields, without timestamps', () => {
    const sut = snapshotOrganization(organization({ overagePolicy: 'allow_up_to_percent', overagePercent: 15, rateCardId: 'rc_9' }));

    expect(sut).toEqual({
      id: 'acme',
      name: 'Acme',
      status: 'active',
      rate_card_id: 'rc_9',
      overage_policy: 'allow_up_to_percent',
      overage_percent: 15,
    });
  });
});
