export const ENVIRONMENTS = ['live', 'test'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

export const SCOPES = ['admission', 'quota:admin', 'billing:admin', 'read'] as const;
export type Scope = (typeof SCOPES)[number];

/** Ids that clients choose (organizations, projects, users): API.md's rule. */
export const CLIENT_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

export type KeyKind = 'platform' | 'org';

/** The authenticated caller of one request. */
export class Principal {
  constructor(
    readonly keyId: string,
    readonly kind: KeyKind,
    /** Bound organization; null for a platform key, which may act on every organization. */
    readonly orgId: string | null,
    readonly environment: Environment,
    readonly scopes: readonly Scope[],
  ) {}

  get isPlatform(): boolean {
    return this.kind === 'platform';
  }

  /** How the audit log names this caller. */
  get actor(): string {
    return `${this.kind}_key:${this.keyId}`;
  }

  canAccessOrg(orgId: string): boolean {
    return this.orgId === null || this.orgId === orgId;
  }

  hasAnyScope(scopes: readonly Scope[]): boolean {
    return scopes.some((s) => this.scopes.includes(s));
  }
}
