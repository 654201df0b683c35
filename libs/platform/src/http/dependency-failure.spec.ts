import { isDependencyFailure } from './dependency-failure';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });
const named = (name: string, message = 'x') => Object.assign(new Error(message), { name });

describe('isDependencyFailure', () => {
  it.each([
    ['ioredis with the offline queue off', new Error("Stream isn't writeable and enableOfflineQueue options is false")],
    ['ioredis closed', new Error('Connection is closed.')],
    ['ioredis retries spent', named('MaxRetriesPerRequestError')],
    ['a refused socket', withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')],
    ['a reset socket', withCode('read ECONNRESET', 'ECONNRESET')],
    ['pg terminated', new Error('Connection terminated unexpectedly')],
    ['knex pool timeout', named('KnexTimeoutError', 'Knex: Timeout acquiring a connection. The pool is probably full.')],
    ['knex transaction whose connection died', new Error('Transaction query already complete, run with DEBUG=knex:tx for more info')],
    ['MikroORM connection exception', named('ConnectionException')],
    ['Postgres shutting down (57P01)', withCode('terminating connection due to administrator command', '57P01')],
    ['Postgres too many connections (53300)', withCode('sorry, too many clients already', '53300')],
    ['a serialization failure (40001)', withCode('could not serialize access', '40001')],
    ['wrapped in a cause', new Error('outer', { cause: withCode('connect ECONNREFUSED', 'ECONNREFUSED') })],
    ['an AggregateError of connect attempts', Object.assign(new AggregateError([withCode('a', 'ECONNREFUSED')], 'connect'), {})],
  ])('%s: yes', (_, error) => {
    expect(isDependencyFailure(error)).toBe(true);
  });

  it.each([
    ['a bug', new TypeError("Cannot read properties of undefined (reading 'x')")],
    ['a unique violation (23505)', withCode('duplicate key value violates unique constraint', '23505')],
    ['invalid text (22021)', withCode('invalid byte sequence for encoding "UTF8": 0x00', '22021')],
    ['not an error', 'boom'],
    ['null', null],
  ])('%s: no', (_, error) => {
    expect(isDependencyFailure(error)).toBe(false);
  });

  it('stops on a cycle of causes', () => {
    const a = new Error('a') as Error & { cause?: unknown };
    const b = new Error('b', { cause: a });
    a.cause = b;
    expect(isDependencyFailure(a)).toBe(false);
  });
});
