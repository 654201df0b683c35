import { BenchRequest, Workload } from './load';

/**
 * Reserve then commit the same usage, one pair per request index (the billing benches' admission
 * load): every commit writes usage events, so the outbox and the ledger grow as in production.
 */
export function reserveCommitWorkload(
  runId: string,
  org: string,
  product: string,
  usage: Record<string, number>,
  auth: Record<string, string>,
): Workload {
  return {
    request: (i): BenchRequest => ({
      method: 'POST',
      path: '/v1/reservations',
      headers: { ...auth, 'idempotency-key': `${runId}-${i}` },
      body: { org_id: org, project_id: 'p', user_id: `u${i % 100}`, product, usage },
    }),
    followUp: (res, req) => {
      if (req.path !== '/v1/reservations') return undefined;
      const id = (JSON.parse(res.body) as { id: string }).id;
      return {
        method: 'POST',
        path: `/v1/reservations/${id}/commit`,
        headers: { ...auth, 'idempotency-key': `${req.headers?.['idempotency-key']}-c` },
        body: { usage },
      };
    },
  };
}
