import { Principal } from './access';
import { auditRecord } from './audit-entry';

describe('auditRecord', () => {
  const ctx = { principal: new Principal('key_1', 'platform', null, 'test', ['quota:admin']), requestId: 'req_1' };

  it('takes actor and request id from the call context, scope and change from the caller', () => {
    expect(
      auditRecord(
        ctx,
        { orgId: 'acme', environment: 'live' },
        { action: 'thing.changed', resourceType: 'thing', resourceId: 't1', before: { a: 1 }, after: { a: 2 } },
      ),
    ).toEqual({
      orgId: 'acme',
      environment: 'live',
      actor: 'platform_key:key_1',
      action: 'thing.changed',
      resourceType: 'thing',
      resourceId: 't1',
      before: { a: 1 },
      after: { a: 2 },
      requestId: 'req_1',
    });
  });

  it('never takes the environment from the key: a record may belong to none', () => {
    const record = auditRecord(
      { ...ctx, requestId: null },
      { orgId: null, environment: null },
      {
        action: 'rate_card.created',
        resourceType: 'rate_card',
        resourceId: 'rc_1',
        before: null,
        after: {},
      },
    );
    expect(record).toMatchObject({ orgId: null, environment: null, requestId: null });
  });
});
