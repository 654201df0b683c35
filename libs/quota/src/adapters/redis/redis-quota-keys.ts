import { nodeKey } from '../../domain/node-key';
import { NodeConfig, NodeRef, QuotaScope } from '../../domain/quota';

/**
 * Redis names of the quota store (the fields inside a scope's hash are described in lib.lua).
 * Every key of a scope carries the hash tag `{<org>:<env>}`, so a scope lives in one slot
 * and its scripts run unchanged on Redis Cluster. The prefix must not contain braces, or its
 * braces would become the tag.
 */
export class RedisQuotaKeys {
  constructor(readonly prefix: string) {
    if (/[{}]/.test(prefix)) throw new Error(`quota key prefix must not contain braces: '${prefix}'`);
  }

  /**
   * [scope hash, expiry zset, pruned zset]: the KEYS of every scope script. `v2` is the layout
   * of lib.lua; a new layout takes a new name, so state of an older one is never misread (it
   * is simply not loaded, and rebuilt from Postgres).
   */
  scope(scope: QuotaScope): [string, string, string] {
    const base = `${this.prefix}{${scope.orgId}:${scope.environment}}:v2`;
    return [`${base}:s`, `${base}:x`, `${base}:e`];
  }

  /**
   * Scope → earliest hold expiry, across organizations: the sweeper's index. It cannot share a
   * slot with the scopes, so no script touches it; the adapter maintains it around the scripts
   * and it is only a hint (see RedisQuotaStore.expireDue).
   */
  get due(): string {
    return `${this.prefix}due`;
  }

  dueMember(scope: QuotaScope): string {
    return `${scope.orgId}|${scope.environment}`;
  }

  scopeOfDueMember(member: string): QuotaScope | null {
    const cut = member.lastIndexOf('|');
    const environment = member.slice(cut + 1);
    if (cut <= 0 || (environment !== 'live' && environment !== 'test')) return null;
    return { orgId: member.slice(0, cut), environment };
  }
}

export function configField(node: NodeRef): string {
  return `${nodeKey(node)}|cfg`;
}

export function defaultUserConfigField(projectId: string): string {
  return `p|${projectId}|dcfg`;
}

export function reservedField(key: string): string {
  return `${key}|r`;
}

/** A node's committed counters of every period kind, packed (see lib.lua). */
export function committedField(key: string): string {
  return `${key}|c`;
}

export function holdField(holdId: string): string {
  return `h|${holdId}`;
}

export function encodeConfig(config: NodeConfig): string {
  return `${config.limit === null ? '-' : String(config.limit)}|${config.period}`;
}
