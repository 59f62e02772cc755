/**
 * The demo's typed maps: one event on the bus, one command on the queue, one channel family on
 * pubsub, plus the request channel the API uses to read the audit context's log.
 */

/** Channel of one user's notifications. The tenant comes first so the gateway can authorize by prefix. */
export type NotificationChannel = `tenant:${string}:user:${string}:notifications`;

/** One tenant's chat room (clients publish on it through the gateway). */
export type ChatChannel = `tenant:${string}:chat`;

/** A chat line as the schema leaves it: trimmed, bounded, no control characters. */
export interface ChatMessage {
  /** The name the page chose (a real application takes it from the session). */
  readonly from: string;
  readonly text: string;
}

export type Step = 'signed-up' | 'audit-recorded' | 'email-queued' | 'email-attempt' | 'email-failed' | 'email-sent';

export interface Notification {
  readonly tenant: string;
  readonly userId: string;
  readonly step: Step;
  /** One line for a human. */
  readonly text: string;
  /** ISO time the step happened. */
  readonly at: string;
  /** Which context said it: `users`, `audit`, `notifications`, `email`. */
  readonly context: string;
  /** Job attempt number, for the email steps. */
  readonly attempt?: number;
}

export interface AuditRecord {
  readonly eventId: string;
  readonly event: string;
  readonly tenant: string;
  readonly userId: string;
  readonly email: string;
  readonly occurredAt: string;
  readonly recordedAt: string;
}

export type Channels = {
  [K in NotificationChannel]: Notification;
} & {
  [K in ChatChannel]: ChatMessage;
} & {
  /** Request/reply: the API asks the audit context (wherever it runs) for a tenant's records. */
  'demo:audit:query': { tenant?: string };
};

export type Events = {
  UserSignedUp: { userId: string; email: string; tenant: string };
};

export type Jobs = {
  sendWelcomeEmail: { userId: string; email: string; tenant: string };
};

export type DemoMaps = { channels: Channels; events: Events; jobs: Jobs };
