/** An organization's endpoint in one environment, as the API shows it (never its secret). */
export interface WebhookEndpoint {
  id: string;
  orgId: string;
  environment: 'live' | 'test';
  url: string;
  description: string | null;
  eventTypes: string[];
  status: 'enabled' | 'deleted';
  createdAt: Date;
  updatedAt: Date;
  /** When the replaced secret stops signing, during a rotation. */
  previousSecretExpiresAt: Date | null;
}

export type WebhookDeliveryStatus = 'pending' | 'delivered' | 'failed' | 'dead';

export interface WebhookAttempt {
  attempt: number;
  startedAt: Date;
  durationMs: number;
  statusCode: number | null;
  outcome: 'delivered' | 'failed' | 'dead';
  error: string | null;
}

export interface WebhookDelivery {
  id: string;
  eventId: string;
  endpointId: string;
  orgId: string;
  environment: 'live' | 'test';
  eventType: string;
  status: WebhookDeliveryStatus;
  attempts: number;
  nextAttemptAt: Date | null;
  lastAttemptAt: Date | null;
  lastStatusCode: number | null;
  lastError: string | null;
  lastDurationMs: number | null;
  deliveredAt: Date | null;
  createdAt: Date;
  /** The latest attempts, newest first (the delivery log). */
  attemptLog: WebhookAttempt[];
}
