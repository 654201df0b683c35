import { classifyFlexprice, classifyMetronome, creditsToMicro } from './vendor-signal';

describe('classifyFlexprice', () => {
  it('maps payment and invoice events to payment signals with the customer', () => {
    expect(classifyFlexprice({ event_type: 'payment.failed', payment: { customer_id: 'cust_1' } })).toMatchObject({
      kind: 'payment_failed',
      customerRefs: ['cust_1'],
    });
    expect(classifyFlexprice({ event_type: 'invoice.payment.overdue', invoice: { customer_id: 'cust_2' } })).toMatchObject({
      kind: 'payment_failed',
      customerRefs: ['cust_2'],
    });
    expect(classifyFlexprice({ event_type: 'payment.success', payment: {} }).kind).toBe('payment_succeeded');
    expect(classifyFlexprice({ event_type: 'invoice.update.finalized', invoice: {} }).kind).toBe('invoice_finalized');
  });

  it('tells the alerts that carry no event_type apart by alert_type (native mode)', () => {
    expect(
      classifyFlexprice({ subscription: { customer_id: 'c' }, alert_type: 'subscription_spend', alert_status: 'in_alarm' }),
    ).toMatchObject({
      kind: 'spend_threshold',
      eventType: 'subscription.spend.threshold_reached',
      customerRefs: ['c'],
    });
    expect(classifyFlexprice({ alert_type: 'subscription_line_item_spend', alert_status: 'ok' })).toMatchObject({
      kind: 'other',
      eventType: 'subscription.line_item_spend.threshold_recovered',
    });
    expect(classifyFlexprice({ customer_id: 'c', alert_type: 'entitlement_grant_exhausted' }).eventType).toBe(
      'entitlement.grant.exhausted',
    );
    expect(classifyFlexprice({ event_type: 'feature.wallet_balance.alert', alert_status: 'in_alarm', customer_id: 'c' }).kind).toBe(
      'balance_low',
    );
    expect(classifyFlexprice({ event_type: 'wallet.ongoing_balance.dropped', wallet: { customer_id: 'c' } }).kind).toBe('balance_low');
  });

  it('sizes a completed credit transaction in micro-credits, keyed by its transaction id', () => {
    const signal = classifyFlexprice({
      event_type: 'wallet.transaction.created',
      transaction: {
        id: 'txn_1',
        type: 'credit',
        transaction_status: 'completed',
        transaction_reason: 'FREE_CREDIT_GRANT',
        credit_amount: '0.000001',
        customer_id: 'c',
        expiry_date: '2027-01-01T00:00:00Z',
      },
    });
    expect(signal.grant).toEqual({
      grantId: 'flexprice:txn_1',
      amount: 1,
      expiresAt: new Date('2027-01-01T00:00:00Z'),
      reason: 'Flexprice free_credit_grant',
    });
  });

  it('grants nothing for debits, pending credits, or an invoice payment', () => {
    const txn = {
      id: 't',
      type: 'credit',
      transaction_status: 'completed',
      transaction_reason: 'PURCHASED_CREDIT_DIRECT',
      credit_amount: '5',
    };
    expect(classifyFlexprice({ event_type: 'wallet.transaction.created', transaction: { ...txn, type: 'debit' } }).kind).toBe('other');
    expect(
      classifyFlexprice({ event_type: 'wallet.transaction.created', transaction: { ...txn, transaction_status: 'pending' } }).grant,
    ).toBeNull();
    expect(
      classifyFlexprice({ event_type: 'wallet.transaction.created', transaction: { ...txn, transaction_reason: 'INVOICE_PAYMENT' } }).kind,
    ).toBe('other');
    expect(classifyFlexprice({ event_type: 'wallet.transaction.created', transaction: { ...txn, credit_amount: '-5' } })).toMatchObject({
      kind: 'credits_granted',
      grant: null,
    });
  });

  it('calls an unknown shape unknown, and ignores values that are not short strings', () => {
    expect(classifyFlexprice({})).toMatchObject({ kind: 'other', eventType: 'unknown', customerRefs: [] });
    expect(
      classifyFlexprice({ event_type: 'payment.failed', customer_id: { $ne: 1 }, payment: { customer_id: 'x'.repeat(300) } }).customerRefs,
    ).toEqual([]);
  });
});

describe('classifyMetronome', () => {
  it('reads payment_status of a payment gate', () => {
    const gate = (payment_status: string) => ({
      id: 'n',
      type: 'payment_gate.payment_status',
      properties: { customer_id: 'c', payment_status },
    });
    expect(classifyMetronome(gate('failed'))).toMatchObject({ kind: 'payment_failed', customerRefs: ['c'] });
    expect(classifyMetronome(gate('paid')).kind).toBe('payment_succeeded');
    expect(classifyMetronome(gate('pending')).kind).toBe('other');
  });

  it('maps alerts by their prefix', () => {
    expect(classifyMetronome({ type: 'alerts.low_remaining_contract_credit_balance_reached', properties: {} }).kind).toBe('balance_low');
    expect(classifyMetronome({ type: 'alerts.low_credit_balance_reached' }).kind).toBe('balance_low');
    expect(classifyMetronome({ type: 'alerts.spend_threshold_reached' }).kind).toBe('spend_threshold');
    expect(classifyMetronome({ type: 'alerts.usage_threshold_reached' }).kind).toBe('other');
  });

  it('handles system notifications with no properties', () => {
    expect(classifyMetronome({ id: 'n', type: 'credit.create' })).toMatchObject({ kind: 'credits_granted', grant: null, customerRefs: [] });
    expect(classifyMetronome({ id: 'n', type: 'contract.start' }).kind).toBe('other');
  });
});

describe('creditsToMicro', () => {
  it('is exact decimal math, rounded down, and refuses what is not a positive amount', () => {
    expect(creditsToMicro('12.5')).toBe(12_500_000);
    expect(creditsToMicro('0.1234567')).toBe(123_456);
    expect(creditsToMicro(3)).toBe(3_000_000);
    for (const bad of ['0', '-1', '1e5', 'abc', '', null, '9999999999999999']) expect(creditsToMicro(bad)).toBeNull();
  });
});
