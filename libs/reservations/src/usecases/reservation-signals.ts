import { WebhookEvent } from '@tollgate/platform';
import { ActiveHold, NodeRef, periodWindow, QuotaScope, ThresholdCrossing } from '@tollgate/quota';

/**
 * Tollgate's own signals about reservations (decision 029), built from what the store decided
 * and recorded in the same group-commit write as the change they report. Ids come from the
 * fact, so a retry, a second instance or a replay can only make the same row.
 */

function levelKey(node: NodeRef): string {
  switch (node.level) {
    case 'org':
      return 'org';
    case 'project':
      return `project:${node.projectId}`;
    case 'user':
      return `user:${node.projectId}:${node.userId}`;
  }
}

/**
 * The period a threshold belongs to: the node's period id (`2026-11-28`, `2026-W48`, `2026-11`);
 * a node without a period (the org's credit pool) has one budget per limit, so a top-up that
 * raises the limit arms the alert again.
 */
function periodKey(crossing: ThresholdCrossing): string {
  return crossing.period === 'none' ? `none@${crossing.limit}` : crossing.periodId;
}

/** One `budget.threshold_reached` per (level, threshold, period) the store reported crossed. */
export function thresholdEvents(scope: QuotaScope, crossings: readonly ThresholdCrossing[] | undefined, now: Date): WebhookEvent[] {
  return (crossings ?? []).map((c) => ({
    id: `budget.threshold_reached:${scope.environment}:${scope.orgId}:${levelKey(c.node)}:${c.threshold}:${periodKey(c)}`,
    orgId: scope.orgId,
    environment: scope.environment,
    type: 'budget.threshold_reached',
    data: {
      level: c.node.level,
      project_id: c.node.level === 'org' ? null : c.node.projectId,
      user_id: c.node.level === 'user' ? c.node.userId : null,
      threshold: c.threshold,
      limit: c.limit,
      used: c.used,
      period: c.period,
      period_id: c.period === 'none' ? null : c.periodId,
      period_start: periodWindow(c.period, now)?.start.toISOString() ?? null,
      reached_at: now.toISOString(),
    },
    occurredAt: now,
  }));
}

/** `reservation.expired` for a hold the sweeper released at its expiry. */
export function expiredEvent(scope: QuotaScope, hold: ActiveHold, metadata: Record<string, unknown> | null): WebhookEvent {
  const expiredAt = new Date(hold.expiresAtMs);
  return {
    id: `reservation.expired:${hold.holdId}`,
    orgId: scope.orgId,
    environment: scope.environment,
    type: 'reservation.expired',
    data: {
      reservation_id: hold.holdId,
      project_id: hold.projectId,
      user_id: hold.userId,
      amount: hold.amount,
      expired_at: expiredAt.toISOString(),
      metadata,
    },
    occurredAt: expiredAt,
  };
}
