import { parseCsv } from '@tollgate/testing';
import {
  csvEntryRows,
  csvHeader,
  csvSummaryRow,
  ExportEntry,
  exportFileName,
  exportWindowProblem,
  ExportTotals,
  formatLedgerExport,
  LEDGER_CSV_COLUMNS,
  LEDGER_CSV_TEXT_COLUMNS,
  microsToCredits,
  ndjsonSummaryLine,
} from './ledger-export';

const scope = { orgId: 'acme', environment: 'live', from: new Date('2026-11-01T00:00:00Z'), to: new Date('2026-12-01T00:00:00Z') };

function entry(over: Partial<ExportEntry> = {}): ExportEntry {
  return {
    id: 'use_1',
    kind: 'commit',
    reservationId: 'res_1.acme',
    orgId: 'acme',
    environment: 'live',
    projectId: 'p',
    userId: 'u',
    product: 'llm.chat',
    amount: '52020',
    estimate: '50000',
    actual: '52020',
    variance: '2020',
    provider: 'openai',
    providerRequestId: 'r-1',
    committedAt: '2026-11-12T10:00:00.000Z',
    periods: { day: '2026-11-12', week: '2026-W46', month: '2026-11' },
    events: [
      {
        id: 'evt_a',
        kind: 'usage',
        line: 0,
        dimension: 'input_tokens',
        dimensions: { model: 'large' },
        quantity: '1500',
        amount: '15000',
        estimate: '20000',
        actual: '15000',
        variance: '-5000',
        rateCardId: 'rc_1',
        rateId: 'rate_1',
        occurredAt: '2026-11-12T10:00:00.000Z',
        recordedAt: '2026-11-12T10:00:00.012Z',
      },
      {
        id: 'evt_b',
        kind: 'usage',
        line: 1,
        dimension: 'output_tokens',
        dimensions: { model: 'large' },
        quantity: '1234',
        amount: '37020',
        estimate: '30000',
        actual: '37020',
        variance: '7020',
        rateCardId: 'rc_1',
        rateId: 'rate_2',
        occurredAt: '2026-11-12T10:00:00.000Z',
        recordedAt: '2026-11-12T10:00:00.012Z',
      },
    ],
    ...over,
  };
}

/** The reader's side of the formula guard: one leading ' off a text cell. */
function unguard(rows: string[][]): string[][] {
  const text = new Set(LEDGER_CSV_TEXT_COLUMNS.map((c) => LEDGER_CSV_COLUMNS.indexOf(c)));
  return rows.map((row) => row.map((cell, i) => (text.has(i) && cell.startsWith("'") ? cell.slice(1) : cell)));
}

describe('ledger export formatting', () => {
  it('writes micro-credits as exact credits with six decimals, by string math', () => {
    expect(microsToCredits('52020')).toBe('0.052020');
    expect(microsToCredits('-5000')).toBe('-0.005000');
    expect(microsToCredits('0')).toBe('0.000000');
    expect(microsToCredits('-0')).toBe('0.000000');
    expect(microsToCredits('1000000')).toBe('1.000000');
    expect(microsToCredits(9_007_199_254_740_991)).toBe('9007199254.740991');
    // Past 2^53 (a sum): digit for digit, where a float would round.
    expect(microsToCredits(123_456_789_012_345_678_901n)).toBe('123456789012345.678901');
    expect(() => microsToCredits('1.5')).toThrow();
  });

  it('bounds the window: to after from, at most 400 days', () => {
    expect(exportWindowProblem(scope.from, scope.to)).toBeNull();
    expect(exportWindowProblem(scope.to, scope.from)).toBe('to must be after from');
    expect(exportWindowProblem(scope.from, scope.from)).toBe('to must be after from');
    expect(exportWindowProblem(scope.from, new Date(scope.from.getTime() + 400 * 86_400_000))).toBeNull();
    expect(exportWindowProblem(scope.from, new Date(scope.from.getTime() + 400 * 86_400_000 + 1))).toMatch(/at most 400 days/);
  });

  it('writes one CSV row per event line, quoted per RFC 4180, and guards formula-looking text cells reversibly', () => {
    const hostile = entry({
      projectId: '-p,1',
      userId: '@u"2',
      provider: '=HYPERLINK("http://x","y")',
      providerRequestId: "'quoted\r\nline",
      events: [{ ...entry().events[0], dimensions: { model: 'a,"b"\n=c' }, dimension: '+x' }],
    });
    const text = csvHeader() + csvEntryRows(hostile) + csvEntryRows(entry());
    const rows = parseCsv(text);
    expect(rows[0]).toEqual(LEDGER_CSV_COLUMNS);
    expect(rows).toHaveLength(4);
    const raw = Object.fromEntries(LEDGER_CSV_COLUMNS.map((c, i) => [c, rows[1][i]]));
    // What a spreadsheet sees: no cell starts with a formula character.
    for (const cell of rows[1]) expect(cell).not.toMatch(/^[=+@\t\r]/);
    expect(raw.provider).toBe(`'=HYPERLINK("http://x","y")`);
    // Negative amounts are numbers, never guarded.
    expect(Object.fromEntries(LEDGER_CSV_COLUMNS.map((c, i) => [c, rows[1][i]])).variance_micros).toBe('-5000');
    const back = Object.fromEntries(LEDGER_CSV_COLUMNS.map((c, i) => [c, unguard(rows)[1][i]]));
    expect(back).toMatchObject({
      record_type: 'event',
      project_id: '-p,1',
      user_id: '@u"2',
      provider: '=HYPERLINK("http://x","y")',
      provider_request_id: "'quoted\r\nline",
      dimension: '+x',
      dimensions: JSON.stringify({ model: 'a,"b"\n=c' }),
      entry_amount_micros: '52020',
      entry_amount_credits: '0.052020',
      amount_micros: '15000',
      amount_credits: '0.015000',
      variance_micros: '-5000',
      committed_at: '2026-11-12T10:00:00.000Z',
      entries: '',
    });
    expect(rows[3][LEDGER_CSV_COLUMNS.indexOf('event_id')]).toBe('evt_b');
  });

  it('writes an entry without events as one entry row, and a summary row with the totals', () => {
    const totals = new ExportTotals();
    totals.add(entry());
    totals.add(entry({ id: 'use_2', amount: '7', events: [] }));
    const rows = parseCsv(csvEntryRows(entry({ id: 'use_2', amount: '7', events: [] })) + csvSummaryRow(scope, totals));
    expect(rows[0].slice(0, 2)).toEqual(['entry', 'use_2']);
    expect(rows[0][LEDGER_CSV_COLUMNS.indexOf('event_id')]).toBe('');
    const summary = Object.fromEntries(LEDGER_CSV_COLUMNS.map((c, i) => [c, rows[1][i]]));
    expect(summary).toMatchObject({
      record_type: 'summary',
      org_id: 'acme',
      environment: 'live',
      entry_amount_micros: '52027',
      entry_amount_credits: '0.052027',
      amount_micros: '52020',
      entries: '2',
      events: '2',
    });
    expect(JSON.parse(ndjsonSummaryLine(scope, totals))).toEqual({
      type: 'summary',
      org_id: 'acme',
      environment: 'live',
      from: '2026-11-01T00:00:00.000Z',
      to: '2026-12-01T00:00:00.000Z',
      entries: 2,
      events: 2,
      amount: 52_027,
      amount_credits: '0.052027',
      events_amount: 52_020,
      events_amount_credits: '0.052020',
    });
  });

  it('formats pages lazily: the header comes with the first page, the summary last', async () => {
    let pulled = 0;
    async function* pages() {
      pulled++;
      yield [entry()];
      pulled++;
      yield [entry({ id: 'use_2' })];
    }
    const chunks = formatLedgerExport(pages(), scope, 'ndjson');
    expect(pulled).toBe(0);
    const first = await chunks.next();
    expect(pulled).toBe(1);
    expect(JSON.parse(first.value as string)).toMatchObject({ type: 'entry', id: 'use_1', amount: 52_020, amount_credits: '0.052020' });
    const rest: string[] = [];
    for await (const chunk of chunks) rest.push(chunk);
    const lines = rest
      .join('')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.type)).toEqual(['entry', 'summary']);
    expect(lines[1]).toMatchObject({ entries: 2, events: 4, amount: 104_040 });
  });

  it('names the file after the organization, environment and window', () => {
    expect(exportFileName({ ...scope, orgId: 'ac:me' }, 'csv')).toBe('ledger_ac_me_live_20261101T000000Z_20261201T000000Z.csv');
    expect(exportFileName(scope, 'ndjson')).toBe('ledger_acme_live_20261101T000000Z_20261201T000000Z.ndjson');
  });
});
