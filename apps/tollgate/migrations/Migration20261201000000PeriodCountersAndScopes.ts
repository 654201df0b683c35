import { Migration } from '@mikro-orm/migrations';

/** `periods` of every kind at an instant, as the quota store names them (period.ts). */
const PERIODS_AT = (instant: string) =>
  `jsonb_build_object('day', to_char(${instant} at time zone 'UTC', 'YYYY-MM-DD'),
                      'week', to_char(${instant} at time zone 'UTC', 'IYYY-"W"IW'),
                      'month', to_char(${instant} at time zone 'UTC', 'YYYY-MM'))`;

/**
 * Decision 018. A hold records the scope's period of every kind (day, week, month) instead of
 * one period per level, so a change of a node's period kind finds its spend; and every
 * reservation's project and user are rows (auto-created on first sight), made by a trigger in
 * the same statement as the reservation: exactly once across instances, and audited.
 */
export class Migration20261201000000PeriodCountersAndScopes extends Migration {
  override async up(): Promise<void> {
    this.addSql(`update reservations set periods = ${PERIODS_AT('created_at')} where not periods ? 'day'`);
    this.addSql(
      `update usage_ledger l set periods = r.periods from reservations r where r.id = l.reservation_id and not l.periods ? 'day'`,
    );
    // Who made the reservation (the key's actor), for the audit entry of what it auto-creates.
    this.addSql(`alter table reservations add column created_by text null`);
    this.addSql(`
      create function reservations_create_scopes() returns trigger language plpgsql as $$
      begin
        with first_seen as (
          select distinct on (org_id, environment, project_id, user_id) org_id, environment, project_id, user_id, id, created_by, created_at
            from added order by org_id, environment, project_id, user_id, created_at, id
        ), new_projects as (
          insert into projects (org_id, environment, id, name, limit_amount, period, default_user_limit, default_user_period, created_at, updated_at)
          select distinct on (org_id, environment, project_id) org_id, environment, project_id, null, null, 'none', null, 'none', created_at, created_at
            from first_seen order by org_id, environment, project_id, created_at, id
          on conflict do nothing
          returning org_id, environment, id
        ), new_users as (
          insert into project_users (org_id, environment, project_id, id, limit_amount, period, created_at, updated_at)
          select org_id, environment, project_id, user_id, null, 'none', created_at, created_at from first_seen
          on conflict do nothing
          returning org_id, environment, project_id, id
        )
        insert into audit_log (id, org_id, environment, actor, action, resource_type, resource_id, before, after, request_id, created_at)
        select 'aud_' || replace(gen_random_uuid()::text, '-', ''), f.org_id, f.environment, coalesce(f.created_by, 'reservation'),
               'project.created', 'project', f.project_id, null::jsonb,
               jsonb_build_object('name', null, 'limit', null, 'period', 'none', 'default_user_limit', null,
                                  'default_user_period', 'none', 'auto_created_by', f.id),
               null, f.created_at
          from new_projects p
          join lateral (select * from first_seen s where (s.org_id, s.environment, s.project_id) = (p.org_id, p.environment, p.id)
                         order by s.created_at, s.id limit 1) f on true
        union all
        select 'aud_' || replace(gen_random_uuid()::text, '-', ''), f.org_id, f.environment, coalesce(f.created_by, 'reservation'),
               'user.created', 'user', f.project_id || '/' || f.user_id, null::jsonb,
               jsonb_build_object('limit', null, 'period', 'none', 'auto_created_by', f.id), null, f.created_at
          from new_users u
          join first_seen f on (f.org_id, f.environment, f.project_id, f.user_id) = (u.org_id, u.environment, u.project_id, u.id);
        return null;
      end $$`);
    this.addSql(`
      create trigger reservations_create_scopes after insert on reservations
        referencing new table as added for each statement execute function reservations_create_scopes()`);
    // Scopes seen before this migration become rows too (recorded by the migration, not a key).
    this.addSql(`
      insert into projects (org_id, environment, id, name, limit_amount, period, default_user_limit, default_user_period, created_at, updated_at)
      select org_id, environment, project_id, null, null, 'none', null, 'none', min(created_at), min(created_at)
        from reservations group by org_id, environment, project_id
      on conflict do nothing`);
    this.addSql(`
      insert into project_users (org_id, environment, project_id, id, limit_amount, period, created_at, updated_at)
      select org_id, environment, project_id, user_id, null, 'none', min(created_at), min(created_at)
        from reservations group by org_id, environment, project_id, user_id
      on conflict do nothing`);
  }

  override async down(): Promise<void> {
    this.addSql('drop trigger reservations_create_scopes on reservations');
    this.addSql('drop function reservations_create_scopes()');
    this.addSql('alter table reservations drop column created_by');
  }
}
