/** Entries that share a committed_at in the seeded ledger. */
const TIE = 7;

/**
 * `n` committed reservations of one organization written straight into Postgres as the commit
 * path writes them (reservation, committed outcome, ledger row, usage events), in one statement
 * so every foreign key and the deferred usage_ledger_needs_commit trigger check every row:
 * every tenth with two event lines, seven entries per instant (pages of 2,000 end inside such a
 * group, so the keyset's tie-break is exercised), md5 ids (id order is not insertion order),
 * plus ten entries just before the window and ten at its end (`window`: RFC 3339 bounds).
 * `org` must exist and be a plain id (it is written into the SQL).
 */
export function seedLedgerSql(org: string, n: number, window: { from: string; to: string }): string {
  return `
    with g as (
      select i, 'res_' || md5('${org}:r' || i) || '.${org}' as rid, 'use_' || md5('${org}:l' || i) as lid,
             'p' || (i % 20) as project_id, 'u' || (i % 500) as user_id, 1000 + i % 997 as amount,
             case when i > ${n + 10} then timestamptz '${window.to}' + (i % 3) * interval '1 second'
                  when i > ${n} then timestamptz '${window.from}' - interval '1 millisecond'
                  else timestamptz '${window.from}' + (i / ${TIE}) * interval '13 seconds' end as at
        from generate_series(1, ${n + 20}) i
    ), seed as materialized (
      select g.*, jsonb_build_object('day', to_char(at at time zone 'UTC', 'YYYY-MM-DD'),
                                     'month', to_char(at at time zone 'UTC', 'YYYY-MM')) as periods
        from g
    ), r as (
      insert into reservations (id, org_id, environment, project_id, user_id, amount, idempotency_key, request_hash, periods,
                                expires_at, response, created_at)
      select rid, '${org}', 'live', project_id, user_id, amount, 'k' || i, 'h', periods, at + interval '15 minutes', '{}'::jsonb,
             at - interval '1 second'
        from seed
    ), o as (
      insert into reservation_outcomes (reservation_id, org_id, environment, status, amount_committed, amount_released, created_at)
      select rid, '${org}', 'live', 'committed', amount, 0, at from seed
    ), l as (
      insert into usage_ledger (id, reservation_id, org_id, environment, project_id, user_id, amount, periods, committed_at,
                                estimate, actual, variance, provider, provider_request_id)
      select lid, rid, '${org}', 'live', project_id, user_id, amount, periods, at, amount + 10, amount, -10, 'openai', 'req-' || i
        from seed
    )
    insert into usage_events (id, kind, reservation_id, ledger_entry_id, line, org_id, environment, project_id, user_id, product, dimension,
                              dimensions, quantity, amount, estimate, actual, variance, occurred_at, recorded_at)
    select 'evt_' || md5('${org}:e' || i || ':' || line), 'usage', rid, lid, line, '${org}', 'live', project_id, user_id, null, null,
           '{}'::jsonb, 1, case when i % 10 <> 0 then amount when line = 0 then amount - amount / 3 else amount / 3 end,
           null, null, null, at, at
      from seed cross join (values (0), (1)) l(line)
     where line = 0 or i % 10 = 0`;
}
