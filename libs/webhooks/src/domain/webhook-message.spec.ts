import { generateSecret, signingSecrets, webhookBody } from './webhook-message';

describe('webhookBody', () => {
  it('is the Standard Webhooks envelope: id, type, timestamp (occurred_at), org_id, environment, data', () => {
    const body = webhookBody({
      id: 'credits.granted:g1',
      type: 'credits.granted',
      orgId: 'acme',
      environment: 'test',
      data: { amount: 5, grant_id: 'g1' },
      occurredAt: new Date('2026-12-07T10:00:00.000Z'),
    });
    expect(JSON.parse(body)).toEqual({
      id: 'credits.granted:g1',
      type: 'credits.granted',
      timestamp: '2026-12-07T10:00:00.000Z',
      org_id: 'acme',
      environment: 'test',
      data: { amount: 5, grant_id: 'g1' },
    });
    expect(Object.keys(JSON.parse(body))).toEqual(['id', 'type', 'timestamp', 'org_id', 'environment', 'data']);
  });
});

describe('generateSecret', () => {
  it('is whsec_ and base64 of 24 random bytes', () => {
    const sut = generateSecret();
    expect(sut).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(Buffer.from(sut.slice(6), 'base64')).toHaveLength(24);
    expect(generateSecret()).not.toBe(sut);
  });
});

describe('signingSecrets', () => {
  const now = new Date('2026-12-07T10:00:00Z');
  it('signs with the replaced secret too until its overlap ends', () => {
    const endpoint = { secret: 'new', previousSecret: 'old', previousSecretExpiresAt: new Date(now.getTime() + 1000) };
    expect(signingSecrets(endpoint, now)).toEqual(['new', 'old']);
    expect(signingSecrets({ ...endpoint, previousSecretExpiresAt: now }, now)).toEqual(['new']);
    expect(signingSecrets({ secret: 'only', previousSecret: null, previousSecretExpiresAt: null }, now)).toEqual(['only']);
  });
});
