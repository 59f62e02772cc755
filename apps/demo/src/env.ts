/**
 * The demo's own settings, from the environment (the platform's come from configFromEnv):
 *
 *   PORT=3000                 HTTP port (0: any free port)
 *   HOST=127.0.0.1            interface to listen on (0.0.0.0: every interface)
 *   DASHBOARD_TOKEN           the dashboard's login token, 16+ characters (default: random, printed at start)
 *   DEMO_ALLOWED_HOSTS        host names the dashboard answers to besides localhost and IP addresses
 *   DEMO_WORKERS=inline       inline: every context in this process; separate: this process serves
 *                             the web role and starts a bus consumer process and a queue worker
 *                             process (needs real brokers); none: web role only (start the others
 *                             yourself: npm run consumer / npm run worker -w @events/demo)
 *   DEMO_FAILURE_RATE=0.7     probability that one welcome email attempt fails (the last never does)
 *   DEMO_POISON_RATE=0        probability that a signup's welcome email is poisoned: a dead letter at once
 *                             (DoNotRetryError), to be replayed from the dashboard
 *   DEMO_EMAIL_ATTEMPTS=4     attempts of sendWelcomeEmail
 *   DEMO_RETRY_DELAY_MS=1000  first retry delay (doubles each retry, 20% jitter)
 *   DEMO_SEND_MS=300          how long one simulated send takes
 *   DEMO_METRICS=on           off: no MeterProvider and no GET /metrics (see telemetry.ts)
 *   OTEL_EXPORTER_OTLP_ENDPOINT  an OTLP/HTTP collector (http://localhost:4318): traces are exported
 *                             there; unset (the default): no tracing SDK is loaded
 *   OTEL_SERVICE_NAME=events-demo  the service name of the spans and metrics
 */
import { ConfigError } from '@events/core';
import type { DemoOptions } from './app.js';

export type WorkersMode = 'inline' | 'separate' | 'none';

export interface DemoEnv {
  workers: WorkersMode;
  options: Omit<DemoOptions, 'roles' | 'platform' | 'log'>;
}

export function demoEnv(env: NodeJS.ProcessEnv = process.env): DemoEnv {
  const workers = (env.DEMO_WORKERS?.trim() || 'inline').toLowerCase();
  if (workers !== 'inline' && workers !== 'separate' && workers !== 'none') {
    throw new ConfigError(`DEMO_WORKERS=${JSON.stringify(env.DEMO_WORKERS)} is not a mode; valid values: inline, separate, none`);
  }
  return {
    workers,
    options: {
      port: number(env, 'PORT', { min: 0, max: 65535, integer: true }) ?? 3000,
      ...(env.HOST ? { host: env.HOST } : {}),
      ...(env.DASHBOARD_TOKEN ? { dashboardToken: token(env.DASHBOARD_TOKEN) } : {}),
      ...(env.DEMO_ALLOWED_HOSTS ? { allowedHosts: env.DEMO_ALLOWED_HOSTS.split(',').map((h) => h.trim()).filter(Boolean) } : {}),
      failureRate: number(env, 'DEMO_FAILURE_RATE', { min: 0, max: 1, integer: false }) ?? 0.7,
      poisonRate: number(env, 'DEMO_POISON_RATE', { min: 0, max: 1, integer: false }) ?? 0,
      emailAttempts: number(env, 'DEMO_EMAIL_ATTEMPTS', { min: 1, max: 50, integer: true }) ?? 4,
      retryDelayMs: number(env, 'DEMO_RETRY_DELAY_MS', { min: 0, max: 600_000, integer: true }) ?? 1000,
      sendMs: number(env, 'DEMO_SEND_MS', { min: 0, max: 60_000, integer: true }) ?? 300,
    },
  };
}

function number(env: NodeJS.ProcessEnv, key: string, range: { min: number; max: number; integer: boolean }): number | undefined {
  const text = env[key]?.trim();
  if (!text) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value < range.min || value > range.max || (range.integer && !Number.isInteger(value))) {
    throw new ConfigError(`${key}=${JSON.stringify(text)} must be ${range.integer ? 'a whole number' : 'a number'} from ${range.min} to ${range.max}`);
  }
  return value;
}

function token(value: string): string {
  if (value.trim().length < 16) throw new ConfigError('DASHBOARD_TOKEN must have at least 16 characters (or leave it unset for a random one)');
  return value.trim();
}
