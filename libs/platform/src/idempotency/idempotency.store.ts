import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { IdempotencyConfig } from '@tollgate/config';

export interface StoredResponse {
  status: number;
  body: unknown;
  contentType: string;
}

export type ClaimResult =
  { kind: 'claimed'; owner: string } | { kind: 'replay'; response: StoredResponse } | { kind: 'mismatch' } | { kind: 'in_progress' };

/**
 * Idempotency keys in Postgres, shared by every POST endpoint and every instance. A key is
 * claimed by one atomic upsert, so two concurrent requests with one key never both run;
 * `owner` makes sure only the request that claimed a key completes or abandons it.
 */
@Injectable()
export class IdempotencyStore {
  constructor(
    private readonly em: EntityManager,
    private readonly config: IdempotencyConfig,
  ) {}

  async claim(scope: string, key: string, requestHash: string, owner: string): Promise<ClaimResult> {
    const connection = this.em.getConnection();
    // Two tries: the row we conflicted with may vanish (abandoned, cleaned) before we read it.
    for (let attempt = 0; attempt < 2; attempt++) {
      const claimed = await connection.execute<{ owner: string }[]>(
        `insert into idempotency_keys (scope, key, request_hash, state, owner, locked_until, created_at, expires_at)
         values (?, ?, ?, 'in_progress', ?, now() + make_interval(secs => ?), now(), now() + make_interval(hours => ?))
         on conflict (scope, key) do update
            set request_hash = excluded.request_hash, state = 'in_progress', owner = excluded.owner,
                locked_until = excluded.locked_until, created_at = excluded.created_at, expires_at = excluded.expires_at,
                response_status = null, response_body = null, response_content_type = null
          where idempotency_keys.expires_at < now()
             or (idempotency_keys.state = 'in_progress' and idempotency_keys.locked_until < now()
                 and idempotency_keys.request_hash = excluded.request_hash)
         returning owner`,
        [scope, key, requestHash, owner, this.config.lockSeconds, this.config.ttlHours],
      );
      if (claimed.length === 1) return { kind: 'claimed', owner };

      const [existing] = await connection.execute<
        {
          request_hash: string;
          state: string;
          response_status: number | null;
          response_body: unknown;
          response_content_type: string | null;
        }[]
      >(
        `select request_hash, state, response_status, response_body, response_content_type
           from idempotency_keys where scope = ? and key = ?`,
        [scope, key],
      );
      if (!existing) continue;
      if (existing.request_hash !== requestHash) return { kind: 'mismatch' };
      if (existing.state === 'in_progress') return { kind: 'in_progress' };
      return {
        kind: 'replay',
        response: { status: existing.response_status!, body: existing.response_body, contentType: existing.response_content_type! },
      };
    }
    return { kind: 'in_progress' };
  }

  async complete(scope: string, key: string, owner: string, response: StoredResponse): Promise<void> {
    await this.em.getConnection().execute(
      `update idempotency_keys
          set state = 'completed', response_status = ?, response_body = ?::jsonb, response_content_type = ?, locked_until = null
        where scope = ? and key = ? and owner = ?`,
      [response.status, JSON.stringify(response.body ?? null), response.contentType, scope, key, owner],
    );
  }

  /** The request failed without a stored outcome (5xx): free the key for a retry. */
  async abandon(scope: string, key: string, owner: string): Promise<void> {
    await this.em
      .getConnection()
      .execute(`delete from idempotency_keys where scope = ? and key = ? and owner = ? and state = 'in_progress'`, [scope, key, owner]);
  }

  /** Deletes expired keys in bounded batches; returns how many went. */
  async purgeExpired(batchSize = 5_000): Promise<number> {
    const rows = await this.em.getConnection().execute<{ n: string }[]>(
      `with gone as (
         delete from idempotency_keys where ctid in (
           select ctid from idempotency_keys where expires_at < now() limit ?)
         returning 1)
       select count(*) as n from gone`,
      [batchSize],
    );
    return Number(rows[0]?.n ?? 0);
  }
}
