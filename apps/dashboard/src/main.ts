/**
 * `npm run dashboard`: the dashboard on its own, over the platform the environment describes
 * (EVENTS_PUBSUB / EVENTS_BUS / EVENTS_QUEUE and their URLs, see @events/platform). On memory
 * adapters it sees only itself; it is meant for Redis, RabbitMQ and BullMQ, or to be mounted in an
 * application with createDashboard.
 *
 *   PORT                default 3001
 *   HOST                default 127.0.0.1
 *   DASHBOARD_TOKEN     the login token (16+ characters). Default: a random one, printed at start
 *                       with the login link; send it as `Authorization: Bearer <token>` or open the link.
 *   DASHBOARD_ALLOWED_HOSTS  comma-separated host names the dashboard answers to besides localhost
 *                       and IP addresses (e.g. the name a reverse proxy forwards).
 *   DASHBOARD_JOBS      comma-separated job names to show counts for (the queue cannot list them)
 *   DASHBOARD_CHANNELS  glob of the pubsub channels to watch, or `off`. Default `*`: on Redis that
 *                       is every PUBLISH on the server, other applications' included.
 *   DASHBOARD_BUS       `off` to not watch the bus. Otherwise a transient subscription: on RabbitMQ an
 *                       exclusive queue that the broker deletes when the dashboard stops.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { consoleErrorHook, type ErrorHook } from '@events/core';
import { configFromEnv, createPlatform } from '@events/platform';
import { createDashboard, createTokenAuth } from './dashboard.js';
import { guardListener, hardenServer, HttpError, requestUrl } from './http-kit.js';

const port = Number(process.env.PORT?.trim() || 3001);
const host = process.env.HOST?.trim() || '127.0.0.1';
const list = (value: string | undefined): string[] =>
  (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
const jobNames = list(process.env.DASHBOARD_JOBS);
const channels = process.env.DASHBOARD_CHANNELS?.trim() || '*';
const busGroup = process.env.DASHBOARD_BUS === 'off' ? false : 'dashboard';

/**
 * A `*` subscription on a shared Redis also receives messages that are not envelopes (another
 * application's, a benchmark's raw PUBLISH): one log line per message would drown the terminal, so
 * such errors are counted and summed up every 10 s.
 */
function summarizedErrors(): ErrorHook {
  const counts = new Map<string, number>();
  setInterval(() => {
    for (const [key, n] of counts) console.error(`[dashboard] pubsub ${key}: ${n} in the last 10 s`);
    counts.clear();
  }, 10_000).unref();
  return (event) => {
    const key = `${event.kind} error${event.name ? ` on ${event.name}` : ''} (${event.error.message})`;
    if (!counts.has(key) && counts.size < 20) console.error(`[dashboard] pubsub ${key}`);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  };
}

try {
  // events: 'all' = job events of every worker on the backend (BullMQ), not only this process's,
  // which runs none: the live job feed and the job names it teaches come from remote workers.
  const platform = await createPlatform(configFromEnv(), { pubsub: { onError: summarizedErrors() }, queue: { events: 'all' } });
  const auth = createTokenAuth(process.env.DASHBOARD_TOKEN ? { token: process.env.DASHBOARD_TOKEN } : {});
  const onError = consoleErrorHook();
  const dashboard = createDashboard({
    platform,
    authorize: auth.authorize,
    allowedHosts: list(process.env.DASHBOARD_ALLOWED_HOSTS),
    jobNames,
    busGroup,
    channelPattern: channels === 'off' ? false : channels,
    onError,
  });
  const server = createServer(
    { connectionsCheckingInterval: 1000 },
    guardListener(
      (req, res) => {
        if (dashboard.handle(req, res)) return;
        const url = requestUrl(req);
        if (url.pathname === '/login') return auth.login(req, res, url);
        if (url.pathname === '/') {
          res.writeHead(302, { location: '/dashboard/' });
          res.end();
          return;
        }
        throw new HttpError(404, 'not found: the dashboard is at /dashboard/');
      },
      (error) => onError({ tier: 'dashboard', kind: 'request', error: error instanceof Error ? error : new Error(String(error)) }),
    ),
  );
  hardenServer(server, { onClientError: (error) => onError({ tier: 'dashboard', kind: 'client', error }) });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  await dashboard.ready();
  const address = server.address() as AddressInfo;
  const origin = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  console.log(`[dashboard] ${origin}/dashboard/  (${platform.describe()})`);
  // The token is printed only when it was made here: one given in DASHBOARD_TOKEN stays out of the logs.
  console.log(`[dashboard] log in: ${process.env.DASHBOARD_TOKEN ? `${origin}/login?token=<DASHBOARD_TOKEN>` : `${origin}${auth.loginPath()}`}`);

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    console.log(`[dashboard] ${signal}: closing`);
    server.close();
    server.closeAllConnections();
    await dashboard.close();
    await platform.close({ timeoutMs: 5000 });
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
} catch (error) {
  console.error(`[dashboard] cannot start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
