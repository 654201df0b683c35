import type { NestFastifyApplication } from '@nestjs/platform-fastify';

export interface TestResponse<T = any> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
  text: string;
}

export interface RequestOptions {
  key?: string | null;
  headers?: Record<string, string>;
  /** Sent as-is (for malformed JSON); otherwise `body` is JSON-encoded. */
  raw?: string;
  body?: unknown;
  environment?: 'live' | 'test';
  idempotencyKey?: string;
}

/** HTTP against the in-process app through Fastify's inject: the whole request pipeline, no socket. */
export class TestClient {
  constructor(
    private readonly app: NestFastifyApplication,
    readonly platformKey: string,
  ) {}

  async request<T = any>(method: string, url: string, options: RequestOptions = {}): Promise<TestResponse<T>> {
    const headers: Record<string, string> = { ...options.headers };
    const key = options.key === undefined ? this.platformKey : options.key;
    if (key !== null) headers.authorization = `Bearer ${key}`;
    if (options.environment) headers['x-environment'] = options.environment;
    if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
    let payload: string | undefined;
    if (options.raw !== undefined) payload = options.raw;
    else if (options.body !== undefined) payload = JSON.stringify(options.body);
    if (payload !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
    const response = await this.app.inject({ method: method as any, url, headers, payload });
    let body: any = response.body;
    try {
      body = response.body.length ? JSON.parse(response.body) : undefined;
    } catch {
      // metrics and docs answer text
    }
    return { status: response.statusCode, headers: response.headers as TestResponse['headers'], body, text: response.body };
  }

  get<T = any>(url: string, options?: RequestOptions) {
    return this.request<T>('GET', url, options);
  }
  post<T = any>(url: string, body?: unknown, options: RequestOptions = {}) {
    return this.request<T>('POST', url, { ...options, body });
  }
  patch<T = any>(url: string, body?: unknown, options: RequestOptions = {}) {
    return this.request<T>('PATCH', url, { ...options, body });
  }
  put<T = any>(url: string, body?: unknown, options: RequestOptions = {}) {
    return this.request<T>('PUT', url, { ...options, body });
  }
  delete<T = any>(url: string, options?: RequestOptions) {
    return this.request<T>('DELETE', url, options);
  }

  /** Creates an organization with the platform key; returns its id. */
  async createOrg(id: string, extra: Record<string, unknown> = {}): Promise<string> {
    const res = await this.post('/v1/orgs', { id, name: `Org ${id}`, ...extra });
    if (res.status !== 201) throw new Error(`createOrg ${id}: ${res.status} ${res.text}`);
    return id;
  }

  /** Creates an organization key; returns its secret. */
  async createOrgKey(orgId: string, scopes: string[], environment: 'live' | 'test' = 'live'): Promise<{ id: string; secret: string }> {
    const res = await this.post(`/v1/orgs/${orgId}/keys`, { scopes, environment });
    if (res.status !== 201) throw new Error(`createOrgKey ${orgId}: ${res.status} ${res.text}`);
    return { id: res.body.id, secret: res.body.secret };
  }
}
