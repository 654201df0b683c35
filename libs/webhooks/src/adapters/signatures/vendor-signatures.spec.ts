import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { WebhooksConfig } from '@tollgate/config';
import { importEsm } from '../../../../billing/src/adapters/shared/import-esm';
import { VendorSignatures } from './vendor-signatures';

type SvixModule = { Webhook: new (secret: string) => { sign(id: string, at: Date, payload: string): string } };

/** Metronome SDK's published test vector (metronome-node tests/api-resources/webhooks.test.ts; VENDORS.md M3). */
const VECTOR = {
  secret: 'correct-horse-battery-staple',
  date: 'Mon, 02 Jan 2006 22:04:05 GMT',
  signature: 'b82652fa2246cf1d8a27e591f155c865f68b46c19b9213fd9c052f2419b4742b',
  body: `{
  "id": "b2c9e307-624e-4e7d-a5a4-1b74107d78c4",
  "type": "widget_created",
  "properties": {
    "customer_id": "5f794d50-085a-4db6-8d15-286e518b7225",
    "widget_id": "0891458d-b6f0-4fdd-a41e-380aae1a1e38"
  }
}`,
};

const LIVE = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const TEST = 'whsec_dGVzdC1lbnZpcm9ubWVudC1zZWNyZXQ=';

function config(values: Partial<WebhooksConfig>): WebhooksConfig {
  return Object.assign(new WebhooksConfig(), values);
}

describe('VendorSignatures', () => {
  let svix: SvixModule;
  beforeAll(async () => {
    svix = await importEsm<SvixModule>('svix');
  });
  afterEach(() => jest.restoreAllMocks());

  const svixHeaders = (secret: string, body: string, at = new Date(), id = 'msg_1') => ({
    'svix-id': id,
    'svix-timestamp': String(Math.floor(at.getTime() / 1000)),
    'svix-signature': new svix.Webhook(secret).sign(id, at, body),
  });

  describe('Metronome', () => {
    const sut = () => new VendorSignatures(config({ metronomeSecret: VECTOR.secret }));

    it("verifies the SDK's published test vector (signed over the Date header), at the vector's instant", () => {
      jest.spyOn(Date, 'now').mockReturnValue(new Date(VECTOR.date).getTime() + 240_000);
      const result = sut().verify('metronome', Buffer.from(VECTOR.body), {
        date: VECTOR.date,
        'metronome-webhook-signature': VECTOR.signature,
      });
      expect(result).toMatchObject({ ok: true, environment: 'live', mode: 'metronome', text: VECTOR.body });
    });

    it('prefers X-Metronome-Date over Date (the SDK >= 3.5 header)', () => {
      jest.spyOn(Date, 'now').mockReturnValue(new Date(VECTOR.date).getTime());
      const result = sut().verify('metronome', Buffer.from(VECTOR.body), {
        'x-metronome-date': VECTOR.date,
        date: 'Tue, 03 Jan 2006 00:00:00 GMT',
        'metronome-webhook-signature': VECTOR.signature,
      });
      expect(result.ok).toBe(true);
    });

    it('refuses the vector six minutes later or earlier, and with one byte changed', () => {
      const at = new Date(VECTOR.date).getTime();
      const headers = { date: VECTOR.date, 'metronome-webhook-signature': VECTOR.signature };
      jest.spyOn(Date, 'now').mockReturnValue(at + 360_000);
      expect(sut().verify('metronome', Buffer.from(VECTOR.body), headers)).toMatchObject({ ok: false, reason: 'timestamp_too_old' });
      jest.spyOn(Date, 'now').mockReturnValue(at - 360_000);
      expect(sut().verify('metronome', Buffer.from(VECTOR.body), headers)).toMatchObject({ ok: false, reason: 'timestamp_too_new' });
      jest.spyOn(Date, 'now').mockReturnValue(at);
      const changed = Buffer.from(VECTOR.body.replace('widget_created', 'widget_createD'));
      expect(sut().verify('metronome', changed, headers)).toMatchObject({ ok: false, reason: 'signature_mismatch' });
      expect(sut().verify('metronome', Buffer.from(VECTOR.body), { ...headers, date: 'nan' })).toMatchObject({
        ok: false,
        reason: 'invalid_timestamp',
      });
    });

    it('tries every secret of a rotation, and names the environment by the one that verifies', () => {
      const body = '{"id":"n1","type":"invoice.finalized"}';
      const date = new Date().toUTCString();
      const sign = (secret: string) => createHmac('sha256', secret).update(`${date}\n${body}`).digest('hex');
      const rotating = new VendorSignatures(
        config({ metronomeSecret: 'old-secret-0123456789 new-secret-0123456789', metronomeSecretTest: 'test-secret-0123456789' }),
      );
      for (const [secret, environment] of [
        ['old-secret-0123456789', 'live'],
        ['new-secret-0123456789', 'live'],
        ['test-secret-0123456789', 'test'],
      ]) {
        expect(
          rotating.verify('metronome', Buffer.from(body), { 'x-metronome-date': date, 'metronome-webhook-signature': sign(secret) }),
        ).toMatchObject({ ok: true, environment });
      }
    });
  });

  describe('Flexprice (Svix)', () => {
    const sut = () => new VendorSignatures(config({ flexpriceSecret: LIVE, flexpriceSecretTest: TEST }));
    const body = '{"event_type":"payment.failed","payment":{"id":"p1"}}';

    it('verifies deliveries signed by the svix library, live or test by secret', () => {
      expect(sut().verify('flexprice', Buffer.from(body), svixHeaders(LIVE, body))).toMatchObject({
        ok: true,
        environment: 'live',
        mode: 'svix',
        deliveryId: 'msg_1',
      });
      expect(sut().verify('flexprice', Buffer.from(body), svixHeaders(TEST, body))).toMatchObject({ ok: true, environment: 'test' });
    });

    it('accepts any v1 entry of a multi-signature header (the sender is mid-rotation)', () => {
      const headers = svixHeaders(LIVE, body);
      const other = new Webhook('whsec_b3RoZXItc2VjcmV0LW9mLTI0LWJ5dGVz').sign(
        'msg_1',
        new Date(Number(headers['svix-timestamp']) * 1000),
        body,
      );
      expect(
        sut().verify('flexprice', Buffer.from(body), { ...headers, 'svix-signature': `${other} ${headers['svix-signature']}` }).ok,
      ).toBe(true);
    });

    it('refuses a timestamp past the 5-minute tolerance either way, before trying signatures', () => {
      expect(sut().verify('flexprice', Buffer.from(body), svixHeaders(LIVE, body, new Date(Date.now() - 301_000)))).toMatchObject({
        ok: false,
        reason: 'timestamp_too_old',
      });
      expect(sut().verify('flexprice', Buffer.from(body), svixHeaders(LIVE, body, new Date(Date.now() + 301_000)))).toMatchObject({
        ok: false,
        reason: 'timestamp_too_new',
      });
    });

    it('refuses bytes that are not strict UTF-8 (a lossy decode could make two bodies one)', () => {
      const raw = Buffer.concat([Buffer.from('{"event_type":"x","v":"'), Buffer.from([0xff]), Buffer.from('"}')]);
      const signedAsReplacement = raw.toString('utf8');
      expect(sut().verify('flexprice', raw, svixHeaders(LIVE, signedAsReplacement))).toMatchObject({ ok: false, reason: 'body_not_utf8' });
    });

    it('keeps the claimed svix-id of a refused delivery for the record', () => {
      expect(sut().verify('flexprice', Buffer.from(body), { ...svixHeaders(LIVE, body), 'svix-signature': 'v1,AAAA' })).toEqual({
        ok: false,
        reason: 'signature_mismatch',
        detail: expect.any(String),
        claimedId: 'msg_1',
      });
    });
  });

  describe('Flexprice (native)', () => {
    const sut = () => new VendorSignatures(config({ flexpriceHeaderSecret: 'native-shared-secret-1 native-shared-secret-2' }));
    const body = Buffer.from('{"event_type":"payment.failed"}');

    it('compares the configured header with every secret of the rotation', () => {
      for (const secret of ['native-shared-secret-1', 'native-shared-secret-2']) {
        expect(sut().verify('flexprice', body, { 'x-tollgate-webhook-secret': secret })).toMatchObject({ ok: true, mode: 'native' });
      }
      expect(sut().verify('flexprice', body, { 'x-tollgate-webhook-secret': 'native-shared-secret-3' })).toMatchObject({
        ok: false,
        reason: 'signature_mismatch',
      });
      expect(sut().verify('flexprice', body, { 'x-tollgate-webhook-secret': '' })).toMatchObject({
        ok: false,
        reason: 'signature_mismatch',
      });
    });

    it('says it is not configured when no secret of either mode is set', () => {
      expect(new VendorSignatures(config({})).verify('flexprice', body, {})).toMatchObject({ ok: false, reason: 'not_configured' });
      expect(sut().verify('flexprice', body, svixHeaders(LIVE, body.toString()))).toMatchObject({ ok: false, reason: 'not_configured' });
    });
  });
});
