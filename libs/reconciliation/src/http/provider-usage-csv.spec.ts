import { ReconciliationError } from '../domain/reconciliation.error';
import { checkRecord } from '../domain/provider-usage';
import { csvRecords } from './provider-usage-csv';

describe('provider usage CSV', () => {
  it('turns rows into records numbered by line, with quoting, usage and dimensions columns and empty cells left out', () => {
    const sut = csvRecords(
      [
        'provider,request_id,occurred_at,usage.input_tokens,usage.output_tokens,dimensions.model',
        'openai,"a,""b""",2026-12-01T00:00:00Z,10,,large',
        '',
        'openai,c,2026-12-01T00:00:00Z,1,2,',
      ].join('\r\n'),
    );
    expect(sut.map((r) => r.position)).toEqual([2, 4]);
    expect(sut[0].value).toEqual({
      provider: 'openai',
      request_id: 'a,"b"',
      occurred_at: '2026-12-01T00:00:00Z',
      usage: { input_tokens: '10' },
      dimensions: { model: 'large' },
    });
    expect(checkRecord(sut[1])).toMatchObject({ ok: true, record: { usage: { input_tokens: '1', output_tokens: '2' }, dimensions: {} } });
  });

  it('names a bad cell by its column, and a short row by the row', () => {
    const [bad, short] = csvRecords('provider,request_id,occurred_at,usage.x\nopenai,r,soon,-1\nopenai,r2\n');
    expect(checkRecord(bad)).toEqual({
      ok: false,
      position: 2,
      errors: [
        { field: 'usage.x', message: 'must be a non-negative number or decimal string' },
        { field: 'occurred_at', message: 'must be an RFC 3339 date-time' },
      ],
    });
    expect(checkRecord(short)).toEqual({ ok: false, position: 3, errors: [{ field: 'row', message: 'has 2 cells; the header has 4' }] });
  });

  it('refuses a body that is not CSV, or a header of another shape, whole', () => {
    const code = (text: string) => {
      try {
        csvRecords(text);
        return 'none';
      } catch (error) {
        return (error as ReconciliationError).code;
      }
    };
    expect(code('provider,request_id,occurred_at,usage.x\n"open,r,t,1\n')).toBe('invalid_csv');
    expect(code('')).toBe('invalid_csv');
    expect(code('provider,request_id,occurred_at\n')).toBe('invalid_csv');
    expect(code('provider,request_id,occurred_at,usage.x,colour\n')).toBe('invalid_csv');
    expect(code('provider,request_id,occurred_at,usage.x,usage.x\n')).toBe('invalid_csv');
  });
});
