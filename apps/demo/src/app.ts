/**
 * startDemo: the signup story on one platform. Each process runs some of the roles:
 *
 * - `web`: the page, the API, the websocket gateway and the users context (emits UserSignedUp);
 * - `busConsumer`: the audit and notifications contexts, each in its own consumer group;
 * - `queueWorker`: the sendWelcomeEmail handler.
 *
 * All three in one process is the default (memory adapters work); each role in its own process
 * needs real brokers, since memory adapters are not shared between processes.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { ConfigError, consoleErrorHook, DEFAULT_CLOSE_TIMEOUT_MS, drainWithin, TimeoutError, toError, type CloseOptions, type ErrorHook } from '@events/core';
import { configFromEnv, createPlatform, type Platform, type PlatformConfig, type ResolvedPlatformConfig } from '@events/platform';
import { createWebSocketGateway, type WebSocketGateway } from '@events/pubsub/websocket';
import { isChatChannel, mayTenantPublish, tenantOfRequest } from './channels.js';
import { authorizeSubscribe } from './presence.js';
import { buildClientBundle } from './client-bundle.js';
import { AUDIT_QUERY_CHANNEL, registerAudit } from './contexts/audit.js';
import { registerEmailWorker } from './contexts/email.js';
import { registerNotifications } from './contexts/notifications.js';
import { createUsersContext } from './contexts/users.js';
import { createUsersDatabase, type UsersDatabase } from './contexts/users-db.js';
import { createRequestHandler } from './http.js';
import { componentHealth, createDashboard, createTokenAuth, platformHealth, type Dashboard } from '@events/dashboard';
import { guardListener, hardenServer, HttpError } from '@events/dashboard/http';
import { createLogger, type LogOptions } from './log.js';
import { auditQuerySchema, chatMessageSchema, signedUpSchema } from './schemas.js';
import type { MetricsHandler } from './telemetry.js';
import type { AuditRecord, DemoMaps } from './types.js';

export interface DemoRoles {
  /** HTTP server, page, websocket gateway, users context. Default: true. */
  web?: boolean;
  /** Audit and notifications contexts (bus groups `audit` and `notifications`). Default: true. */
  busConsumer?: boolean;
  /** The sendWelcomeEmail worker. Default: true. */
  queueWorker?: boolean;
}

export interface DemoOptions {
  /** Which parts of the story run in this process. Default: all of them. */
  roles?: DemoRoles;
  /** Platform config. Default: configFromEnv() (memory adapters when nothing is set). */
  platform?: PlatformConfig | ResolvedPlatformConfig;
  /** HTTP port; 0 picks a free one. Default: 3000. */
  port?: number;
  /** Interface to listen on. Default: `127.0.0.1` (this machine only; `0.0.0.0` for every interface). */
  host?: string;
  /**
   * The dashboard's login token (at least 16 characters): sent as `Authorization: Bearer <token>`
   * or through the login link `/login?token=<token>`. Default: 32 random bytes, new at each start.
   */
  dashboardToken?: string;
  /** Host names the dashboard answers to besides localhost and IP addresses. Default: `[]`. */
  allowedHosts?: readonly string[];
  /** Signups per client address per minute; past it 429 with Retry-After. Default: 120. */
  signupsPerMinute?: number;
  /**
   * Errors of the tiers and of the HTTP server (a request that failed with a 500, a request Node
   * could not parse). Default: a line in the log, at most 5 per kind per 10 s.
   */
  onError?: ErrorHook;
  /** Probability that one welcome email attempt fails (the last attempt never does). Default: 0.7, so most signups show a retry. */
  failureRate?: number;
  /**
   * Probability that a signup's welcome email is poisoned: its first attempt throws DoNotRetryError,
   * so the job is a dead letter at once (replay it from the dashboard; a replay is sent). Default: 0.
   */
  poisonRate?: number;
  /** Attempts of sendWelcomeEmail, the first included. Default: 4. */
  emailAttempts?: number;
  /** First retry delay of sendWelcomeEmail in ms (doubles each retry). Default: 1000. */
  retryDelayMs?: number;
  /** How long one simulated email send takes, in ms. Default: 300. */
  sendMs?: number;
  /** Log options (a role label, where lines go). Default: stdout, no label. */
  log?: LogOptions;
  /** Serves `GET /metrics` behind the dashboard's token (startTelemetry's `metrics`). Default: none, /metrics is 404. */
  metrics?: MetricsHandler | undefined;
}

export interface Demo {
  readonly platform: Platform<DemoMaps>;
  /** `http://host:port` when this process runs the web role. */
  readonly url: string | undefined;
  /** The dashboard's login token when this process runs the web role. */
  readonly dashboardToken: string | undefined;
  /** The dashboard's login link (`<url>/login?token=...`) when this process runs the web role. */
  readonly loginUrl: string | undefined;
  /** Stops HTTP intake, drains the platform (bus, queue, pubsub), then closes websocket clients. */
  close(options?: CloseOptions): Promise<void>;
}

export async function startDemo(options: DemoOptions = {}): Promise<Demo> {
  const roles = { web: true, busConsumer: true, queueWorker: true, ...options.roles };
  const logger = (context: string) => createLogger(context, options.log);
  const log = logger('demo');
  // One hook for every tier; the default is rate-limited, so a flood of bad messages on a shared
  // broker is a few lines, not a log flood.
  const onError = options.onError ?? consoleErrorHook({ write: (line, error) => logger('errors')(`${line} ${error.message}`) });
  // The page's websocket client, built before anything opens (nothing to release if it fails).
  const clientBundle = roles.web ? await buildClientBundle() : undefined;
  const platform = await createPlatform<DemoMaps>(demoPlatformConfig(options.platform ?? configFromEnv()), {
    // The demo's payloads are checked where they arrive too: a foreign publisher cannot hand a
    // context a payload of another shape.
    pubsub: { onError, schemas: { 'demo:audit:query': auditQuerySchema } },
    bus: { onError, schemas: { UserSignedUp: signedUpSchema } },
    queue: {
      onError,
      schemas: { sendWelcomeEmail: signedUpSchema },
      // Without a worker here, the dashboard needs the job events of the worker processes.
      events: roles.queueWorker ? 'local' : 'all',
    },
    // The dashboard's journeys are searchable by the user's email (the event and the job carry it;
    // the notifications share their correlation id, the user id).
    journey: { keys: (_name, payload) => emailKey(payload) },
  });
  log(`platform up: ${platform.describe()}; roles: ${Object.entries(roles).filter(([, on]) => on).map(([r]) => r).join(', ')}`);

  try {
    if (roles.busConsumer) {
      await registerAudit(platform, logger('audit'));
      await registerNotifications(platform, {
        log: logger('notifications'),
        retry: { attempts: options.emailAttempts ?? 4, delayMs: options.retryDelayMs ?? 1000 },
      });
    }
    if (roles.queueWorker) {
      await registerEmailWorker(platform, { log: logger('email'), failureRate: options.failureRate ?? 0.7, poisonRate: options.poisonRate ?? 0, sendMs: options.sendMs ?? 300, concurrency: 4 });
    }
  } catch (error) {
    await platform.close({ force: true }).catch(() => undefined);
    throw error;
  }

  let server: Server | undefined;
  const sockets = new Set<Socket>();
  let gateway: WebSocketGateway | undefined;
  let dashboard: Dashboard | undefined;
  let auth: ReturnType<typeof createTokenAuth> | undefined;
  let accepting = true;
  let usersDb: UsersDatabase | undefined;
  if (roles.web) {
    const q = platform.config.queue;
    usersDb =
      q.adapter === 'postgres'
        ? createUsersDatabase({ url: q.url, schema: q.schema ?? 'events_queue', onError: (error) => onError({ tier: 'queue', kind: 'transport', error }) })
        : undefined;
    const retry = { attempts: options.emailAttempts ?? 4, delayMs: options.retryDelayMs ?? 1000 };
    const users = createUsersContext(platform, logger('users'), usersDb ? { database: { users: usersDb, retry } } : {});
    const audit = async (tenant: string): Promise<AuditRecord[]> => {
      try {
        return await platform.pubsub.request<typeof AUDIT_QUERY_CHANNEL, AuditRecord[]>(AUDIT_QUERY_CHANNEL, { tenant }, { timeoutMs: 3000 });
      } catch (error) {
        if (error instanceof TimeoutError) throw new HttpError(503, 'the audit context did not answer within 3 s: is the bus consumer process running?');
        throw error;
      }
    };
    const login = createTokenAuth(options.dashboardToken === undefined ? {} : { token: options.dashboardToken });
    auth = login;
    const handleApi = createRequestHandler({
      users,
      audit,
      accepting: () => accepting,
      clientBundle: clientBundle!,
      login: (req, res, url) => login.login(req, res, url),
      signupsPerMinute: options.signupsPerMinute ?? 120,
      metrics: options.metrics,
      authorize: login.authorize,
      health: () => {
        const { ok: tiersOk, tiers } = platformHealth(platform);
        const socket = gateway ? componentHealth(gateway) : undefined;
        const ok = tiersOk && (socket === undefined || (socket.phase !== 'closing' && socket.phase !== 'closed' && socket.phase !== 'failed'));
        return { ok, body: { status: !accepting ? 'closing' : ok ? 'ok' : 'degraded', adapters: platform.describe(), roles, users: users.count(), tiers, ...(socket ? { gateway: socket } : {}) } };
      },
    });
    // The dashboard (/dashboard/) sees the same tiers as the demo, memory adapters included, behind
    // the demo's token. It watches the demo's own channels only: a `*` pattern on a shared Redis
    // would receive (and count as a receiver of) every other application's traffic.
    const mounted = createDashboard({
      platform,
      authorize: login.authorize,
      allowedHosts: options.allowedHosts ?? [],
      jobNames: ['sendWelcomeEmail'],
      channelPattern: 'tenant:*',
      onError,
    });
    dashboard = mounted;
    const reportHttp = (kind: string) => (error: unknown) => onError({ tier: 'platform', kind, error: toError(error), detail: { app: 'demo' } });
    // Node checks the request timeouts every connectionsCheckingInterval (30 s by default).
    server = createServer(
      { connectionsCheckingInterval: 1000 },
      guardListener((req, res) => (mounted.handle(req, res) ? undefined : handleApi(req, res)), reportHttp('http')),
    );
    hardenServer(server, { onClientError: reportHttp('http-client') });
    // Every socket, upgraded or not, so close() can end the ones nothing else will (a hostile
    // upgrade nobody took, a half-sent request) instead of waiting on them for ever.
    server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    gateway = createWebSocketGateway({
      pubsub: platform.pubsub,
      server,
      path: '/pubsub',
      // The tenant rule; the answer also says how the page appears in its chat room's presence.
      authorize: authorizeSubscribe,
      // The chat: a page publishes on its own tenant's room only, a line the chat schema accepts.
      authorizePublish: (request, channel) => mayTenantPublish(tenantOfRequest(request.url), channel),
      publishSchema: (channel) => (isChatChannel(channel) ? chatMessageSchema : undefined),
      onError,
    });
    const listening = server;
    const port = options.port ?? 3000;
    try {
      await new Promise<void>((resolve, reject) => {
        listening.once('error', reject);
        listening.listen(port, options.host ?? '127.0.0.1', () => {
          listening.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      await dashboard.close();
      await gateway.close();
      await platform.close({ force: true }).catch(() => undefined);
      if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
        throw new ConfigError(`port ${port} is already in use: set PORT to another one (PORT=0 picks a free port)`, { cause: error });
      }
      throw error;
    }
  }
  const url = server ? urlOf(server.address() as AddressInfo) : undefined;

  let closing: Promise<void> | undefined;
  async function close(closeOptions: CloseOptions = {}): Promise<void> {
    const deadline = Date.now() + (closeOptions.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS);
    accepting = false;
    // Ends the dashboard's live streams, so they do not hold server.close() open.
    await drainWithin(dashboard?.close() ?? Promise.resolve(), Math.max(100, deadline - Date.now()));
    // No new connections; requests in flight finish (their emits are part of the drain below).
    const serverClosed = server ? new Promise<void>((resolve) => server!.close(() => resolve())) : Promise.resolve();
    server?.closeIdleConnections();
    log('draining: bus, then queue, then pubsub');
    try {
      await platform.close(closeOptions);
    } finally {
      // Websocket clients last, so notifications broadcast while draining still reach the pages.
      await gateway?.close();
      server?.closeAllConnections();
      // What is still open past the deadline is not ours to wait for: end it.
      if (!(await drainWithin(serverClosed, Math.max(100, deadline - Date.now())))) {
        for (const socket of sockets) socket.destroy();
        await serverClosed;
      }
      await usersDb?.close();
    }
    log('closed');
  }
  return {
    platform,
    url,
    dashboardToken: auth?.token,
    loginUrl: url && auth ? `${url}${auth.loginPath()}` : undefined,
    close: (closeOptions) => (closing ??= close(closeOptions)),
  };
}

function emailKey(payload: unknown): readonly string[] {
  const email = payload !== null && typeof payload === 'object' ? (payload as { email?: unknown }).email : undefined;
  return typeof email === 'string' ? [email] : [];
}

/** A URL a person can open: `localhost` when listening on every interface. */
function urlOf(address: AddressInfo): string {
  const host = address.address === '::' || address.address === '0.0.0.0' ? 'localhost' : address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

/**
 * The demo opts in to the PostgreSQL queue's migrations (unless EVENTS_QUEUE_MIGRATE is set), so
 * `EVENTS_QUEUE=postgres npm run demo` is the one command needed.
 */
function demoPlatformConfig(config: PlatformConfig | ResolvedPlatformConfig): PlatformConfig | ResolvedPlatformConfig {
  const queue = config.queue;
  if (queue?.adapter !== 'postgres' || process.env.EVENTS_QUEUE_MIGRATE !== undefined) return config;
  return { ...config, queue: { ...queue, migrate: true } } as PlatformConfig | ResolvedPlatformConfig;
}
