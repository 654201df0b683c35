/**
 * The one Redis round trip both floors make per request: a three-level reserve reduced to
 * its counters, so the floors cost what the service's admission cannot avoid (parse, one
 * EVALSHA, answer) and nothing else.
 */
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';

/**
 * KEYS[1] org, KEYS[2] project, KEYS[3] user counter hashes, all under one hash tag
 *   (fields: limit, committed, reserved; absent = no limit set / 0)
 * ARGV[1] amount, ARGV[2..4] the org, project and user limit to apply when the hash has none
 *   (as a project's default user cap applies to a user without their own)
 * Returns {'held', org left, project left, user left} | {'refused', level, required, available}
 * Guarantees: admitted only if committed + reserved + amount ≤ limit at all three levels;
 * then reserved grows by amount at all three, in one step. Refused: nothing written.
 */
export const RESERVE_LUA = `
local amount = tonumber(ARGV[1])
local levels = { 'org', 'project', 'user' }
local left = {}
for i = 1, 3 do
  local f = redis.call('HMGET', KEYS[i], 'limit', 'committed', 'reserved')
  local limit = tonumber(f[1]) or tonumber(ARGV[i + 1])
  local used = (tonumber(f[2]) or 0) + (tonumber(f[3]) or 0)
  if used + amount > limit then
    return { 'refused', levels[i], string.format('%.0f', amount), string.format('%.0f', limit - used) }
  end
  left[i] = string.format('%.0f', limit - used - amount)
end
for i = 1, 3 do redis.call('HINCRBY', KEYS[i], 'reserved', amount) end
return { 'held', left[1], left[2], left[3] }
`;

/** Every floor key starts with `bench:`; the runner deletes `bench:*` when it is done. */
export function reserveKeys(orgId: string, projectId: string, userId: string): [string, string, string] {
  const tag = `bench:{bench:${orgId}}`;
  return [`${tag}:o`, `${tag}:p:${projectId}`, `${tag}:u:${projectId}:${userId}`];
}

/** Limits far above what a run reserves: the check runs, it never refuses. */
export const FLOOR_LIMITS = ['4000000000000000', '3000000000000000', '2000000000000000'] as const;

export interface ReserveInput {
  org_id: string;
  project_id: string;
  user_id: string;
  amount: number;
  ttl_seconds: number;
}

export type ReserveOutcome = { status: 201; body: Record<string, unknown> } | { status: 402; body: Record<string, unknown> };

export async function loadReserveScript(redis: Redis): Promise<string> {
  return (await redis.script('LOAD', RESERVE_LUA)) as string;
}

export async function reserve(redis: Redis, sha: string, input: ReserveInput): Promise<ReserveOutcome> {
  const [o, p, u] = reserveKeys(input.org_id, input.project_id, input.user_id);
  const reply = (await redis.evalsha(sha, 3, o, p, u, String(input.amount), ...FLOOR_LIMITS)) as string[];
  if (reply[0] !== 'held') {
    return { status: 402, body: { code: 'insufficient_budget', level: reply[1], required: Number(reply[2]), available: Number(reply[3]) } };
  }
  return {
    status: 201,
    body: {
      id: `res_${randomUUID()}`,
      status: 'held',
      decision: 'admitted',
      org_id: input.org_id,
      project_id: input.project_id,
      user_id: input.user_id,
      amount: input.amount,
      expires_at: new Date(Date.now() + input.ttl_seconds * 1000).toISOString(),
      remaining: { org: Number(reply[1]), project: Number(reply[2]), user: Number(reply[3]) },
    },
  };
}

export function redisFromEnv(url: string | undefined): Redis {
  // One retry: with Redis gone a floor fails its requests (counted as errors) instead of queueing them.
  return new Redis(url ?? 'redis://localhost:6379', { maxRetriesPerRequest: 1, connectionName: 'tollgate-bench-floor' });
}
