/**
 * Whether an error means "Postgres or Redis could not be reached or refused to work right
 * now": a retry later may succeed, the request changed nothing, so it is 503
 * `store_unavailable` with Retry-After, not a 500 bug. Recognised by the drivers' own names
 * and codes (ioredis, pg, knex, MikroORM), looking through `cause` / `previous` chains.
 */

/** Node socket errors seen when a server is down, restarting or unreachable. */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNABORTED',
]);

/**
 * Postgres SQLSTATEs that are about the server's state, not the statement: connection
 * exceptions (class 08), operator intervention (57: shutdown, crash recovery, statement
 * timeout), insufficient resources (53), and the transient conflicts a retry resolves
 * (40001 serialization, 40P01 deadlock, 55P03 lock not available).
 */
function isTransientSqlState(code: string): boolean {
  return /^(08|53|57)[0-9A-Z]{3}$/.test(code) || code === '40001' || code === '40P01' || code === '55P03';
}

const ERROR_NAMES = new Set(['MaxRetriesPerRequestError', 'ConnectionException', 'KnexTimeoutError', 'TimeoutError']);

const MESSAGES = [
  /^Connection is closed\.?$/,
  /Stream isn't writeable/,
  /^Connection terminated/,
  /Connection ended unexpectedly/,
  // knex, when the connection of an open transaction died under it.
  /Transaction query already complete/,
  /Timeout acquiring a connection/,
  /Client has encountered a connection error/,
  /Client was closed and is not queryable/,
  /Cannot use a pool after calling end/,
  /the database system is (starting up|shutting down|in recovery mode)/,
  /Command timed out/,
  /connect ECONNREFUSED/,
];

export function isDependencyFailure(error: unknown): boolean {
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current !== null && typeof current === 'object' && !seen.has(current) && seen.size < 8) {
    seen.add(current);
    const e = current as { name?: unknown; code?: unknown; message?: unknown; cause?: unknown; previous?: unknown };
    if (typeof e.name === 'string' && ERROR_NAMES.has(e.name)) return true;
    if (typeof e.code === 'string' && (SOCKET_CODES.has(e.code) || isTransientSqlState(e.code))) return true;
    if (typeof e.message === 'string' && MESSAGES.some((re) => re.test(e.message as string))) return true;
    // AggregateError (Node's happy-eyeballs connect) carries one error per address.
    const errors = (current as { errors?: unknown }).errors;
    if (Array.isArray(errors) && errors.some((inner) => isDependencyFailure(inner))) return true;
    current = e.cause ?? e.previous;
  }
  return false;
}
