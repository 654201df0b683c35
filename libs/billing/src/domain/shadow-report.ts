import Decimal from 'decimal.js';

/** One backend's figures for a metric and period: what Tollgate sent it and what it reports holding. */
export interface BackendFigures {
  backend: string;
  /** primary, shadow, or both (the routing changed within the period). */
  roles: string[];
  sent: { events: number; quantity: string; amount: number };
  /** Deliveries not accepted yet (pending, failed) or given up (dead). */
  undelivered: number;
  /** Null when the backend could not be read (then `error`). */
  reported: { events: number; quantity: string; amount: number } | null;
  error?: string;
}

export type DifferenceKind = 'missing' | 'duplicated' | 'different_quantity' | 'different_amount' | 'not_delivered' | 'unreadable';

export interface Difference {
  kind: DifferenceKind;
  period: string;
  metric: string;
  backend: string;
  expected?: string | number;
  actual?: string | number;
  detail: string;
  event_ids?: string[];
}

/**
 * What a backend reports against what was sent to it. More events reported than sent are
 * duplicates (a vendor that counted a resend), fewer are missing (accepted then lost);
 * equal counts with different sums are a different quantity or amount.
 */
export function compareBackend(period: string, metric: string, f: BackendFigures): Difference[] {
  const out: Difference[] = [];
  const base = { period, metric, backend: f.backend };
  if (f.undelivered > 0) {
    out.push({
      ...base,
      kind: 'not_delivered',
      expected: 0,
      actual: f.undelivered,
      detail: `${f.undelivered} deliveries not accepted by ${f.backend} yet`,
    });
  }
  if (!f.reported) {
    out.push({ ...base, kind: 'unreadable', detail: `${f.backend} usage could not be read: ${f.error ?? 'unknown error'}` });
    return out;
  }
  const r = f.reported;
  if (r.events > f.sent.events) {
    out.push({
      ...base,
      kind: 'duplicated',
      expected: f.sent.events,
      actual: r.events,
      detail: `${f.backend} reports ${r.events - f.sent.events} more events than were sent`,
    });
  } else if (r.events < f.sent.events) {
    out.push({
      ...base,
      kind: 'missing',
      expected: f.sent.events,
      actual: r.events,
      detail: `${f.backend} reports ${f.sent.events - r.events} fewer events than it accepted`,
    });
  }
  if (!new Decimal(r.quantity).equals(new Decimal(f.sent.quantity))) {
    out.push({
      ...base,
      kind: 'different_quantity',
      expected: f.sent.quantity,
      actual: r.quantity,
      detail: `${f.backend} reports quantity ${r.quantity}, ${f.sent.quantity} was sent`,
    });
  }
  if (r.amount !== f.sent.amount) {
    out.push({
      ...base,
      kind: 'different_amount',
      expected: f.sent.amount,
      actual: r.amount,
      detail: `${f.backend} reports ${r.amount} micro-credits, ${f.sent.amount} were sent`,
    });
  }
  return out;
}

/** The UTC months meeting [from, to), each clipped to the window. */
export function monthlyPeriods(from: Date, to: Date): { period: string; from: Date; to: Date }[] {
  const periods: { period: string; from: Date; to: Date }[] = [];
  let start = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), 1));
  while (start < to) {
    const next = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1));
    const period = `${start.getUTCFullYear()}-${String(start.getUTCMonth() + 1).padStart(2, '0')}`;
    periods.push({ period, from: start < from ? from : start, to: next > to ? to : next });
    start = next;
  }
  return periods;
}
