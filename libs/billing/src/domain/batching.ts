import { DeliveryItem, DeliveryOutcome } from './delivery';
import { CallVerdict } from './vendor-failure';

/**
 * Sends items in calls of at most `maxBatchSize`, one after another, and turns each call's
 * verdict into per-event outcomes. A call refused as invalid is split in halves and each half
 * sent again, down to single events: one malformed event costs about log2(batch) extra calls,
 * and never dead-letters the valid events that shared its call. Outcomes come back in the
 * order of `items`.
 */
export async function deliverInCalls(
  items: readonly DeliveryItem[],
  maxBatchSize: number,
  send: (chunk: readonly DeliveryItem[]) => Promise<CallVerdict>,
): Promise<DeliveryOutcome[]> {
  const outcomes: DeliveryOutcome[] = [];
  for (let start = 0; start < items.length; start += maxBatchSize) {
    outcomes.push(...(await sendBisecting(items.slice(start, start + maxBatchSize), send)));
  }
  return outcomes;
}

async function sendBisecting(
  chunk: readonly DeliveryItem[],
  send: (chunk: readonly DeliveryItem[]) => Promise<CallVerdict>,
): Promise<DeliveryOutcome[]> {
  const verdict = await send(chunk);
  switch (verdict.kind) {
    case 'accepted':
      return chunk.map(({ event }) => ({ eventId: event.id, status: 'delivered' as const }));
    case 'retryable':
      return chunk.map(({ event }) =>
        verdict.retryAfterMs === undefined
          ? { eventId: event.id, status: 'retryable' as const, reason: verdict.reason }
          : { eventId: event.id, status: 'retryable' as const, reason: verdict.reason, retryAfterMs: verdict.retryAfterMs },
      );
    case 'rejected': {
      if (chunk.length === 1) return [{ eventId: chunk[0].event.id, status: 'permanent', reason: verdict.reason }];
      const half = Math.ceil(chunk.length / 2);
      return [...(await sendBisecting(chunk.slice(0, half), send)), ...(await sendBisecting(chunk.slice(half), send))];
    }
  }
}

/**
 * Runs `deliver` per environment (each has its own credentials) and puts the outcomes back in
 * the order of `items`.
 */
export async function perEnvironment(
  items: readonly DeliveryItem[],
  deliver: (environment: DeliveryItem['event']['environment'], items: readonly DeliveryItem[]) => Promise<DeliveryOutcome[]>,
): Promise<DeliveryOutcome[]> {
  const groups = new Map<DeliveryItem['event']['environment'], number[]>();
  items.forEach((item, index) => {
    const group = groups.get(item.event.environment) ?? [];
    group.push(index);
    groups.set(item.event.environment, group);
  });
  const outcomes: DeliveryOutcome[] = new Array(items.length);
  for (const [environment, indexes] of groups) {
    const answered = await deliver(
      environment,
      indexes.map((i) => items[i]),
    );
    indexes.forEach((itemIndex, k) => (outcomes[itemIndex] = answered[k]));
  }
  return outcomes;
}
