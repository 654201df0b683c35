/**
 * An RFC 4180 reader for the tests of CSV answers: fed chunk by chunk (a streamed download),
 * it hands each complete row to `onRow`. Quoted cells may hold commas, quotes ("" for one) and
 * line breaks; rows end with CRLF (a bare LF is accepted too).
 */
export class CsvReader {
  private cell = '';
  private row: string[] = [];
  private quoted = false;
  /** Just left a quoted section: a `"` now is an escaped quote, anything else ends the quotes. */
  private afterQuote = false;
  private pendingCr = false;
  rows = 0;

  constructor(private readonly onRow: (row: string[]) => void) {}

  push(text: string): void {
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (this.quoted) {
        if (c === '"') {
          this.quoted = false;
          this.afterQuote = true;
        } else this.cell += c;
        continue;
      }
      if (this.afterQuote) {
        this.afterQuote = false;
        if (c === '"') {
          this.cell += '"';
          this.quoted = true;
          continue;
        }
        if (c !== ',' && c !== '\r' && c !== '\n') throw new Error(`CSV: '${c}' after a closing quote`);
      }
      if (this.pendingCr) {
        this.pendingCr = false;
        if (c !== '\n') throw new Error('CSV: CR not followed by LF outside quotes');
        this.endRow();
        continue;
      }
      if (c === '"') {
        if (this.cell !== '') throw new Error(`CSV: quote inside an unquoted cell after '${this.cell}'`);
        this.quoted = true;
      } else if (c === ',') {
        this.row.push(this.cell);
        this.cell = '';
      } else if (c === '\r') this.pendingCr = true;
      else if (c === '\n') this.endRow();
      else this.cell += c;
    }
  }

  /** The text is complete: it must end at a row's end. */
  end(): void {
    if (this.quoted || this.pendingCr || this.cell !== '' || this.row.length > 0) throw new Error('CSV: the text ends inside a row');
  }

  private endRow(): void {
    this.row.push(this.cell);
    this.cell = '';
    this.onRow(this.row);
    this.row = [];
    this.rows += 1;
  }
}

/** Every row of a complete CSV text. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  const reader = new CsvReader((row) => rows.push(row));
  reader.push(text);
  reader.end();
  return rows;
}
