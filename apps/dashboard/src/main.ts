/**
 * `npm run dashboard`: the dashboard on its own, over the platform the environment describes
 * (EVENTS_PUBSUB / EVENTS_BUS / EVENTS_QUEUE and their URLs, see @events/platform). On memory
 * adapters it sees only itself; it is meant for Redis, RabbitMQ and BullMQ, or to be mounted in an
 * application with createDashboard.
 *
 *   PORT                default 3001
 *   HOST                default 127.0.0.1 (the page can replay and discard jobs and has no login)
 *   DASHBOARD_JOBS      comma-separated job names to show counts for (the queue cannot list them)
 *   DASHBOARD_CHANNELS  glob of the pubsub channels to watch, or `off`. Default `*`: on Redis that
 *                       is every PUBLISH on the server, other applications' included.
 *   DASHBOARD_BUS       `off` to not watch the bus. Otherwise a transient subscription: on RabbitMQ an
 *                       exclusive queue that the broker deletes when the dashboard stops.
 */
import { createServer } from 'node:http';
import { configFromEnv, createPlatform } from '@events/platform';
import { createDashboard } from './dashboard.js';

const port = Number(process.env.PORT ?? 3001);
const host = process.env.HOST ?? '127.0.0.1';
const jobNames = (process.env.DASHBOARD_JOBS ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const channels = process.env.DASHBOARD_CHANNELS?.trim() || '*';
const busGroup = process.env.DASHBOARD_BUS === 'off' ? false : 'dashboard';

/**
 * A `*` subscription on a shared Redis also receives messages that are not envelopes (another
 * application's, a benchmark's raw PUBLISH): one log line per message would drown the terminal, so
 * such errors are counted and summed up every 10 s.
 */
function summarizedErrors(): (error: Error, context: { kind: string; channel?: string }) => void {
  const counts = new Map<string, number>();
  setInterval(() => {
    for (const [key, n] of counts) console.error(`[dashboard] pubsub ${key}: ${n} in the last 10 s`);
    counts.clear();
  }, 10_000).unref();
  return (error, context) => {
    const key = `${context.kind} error${context.channel ? ` on ${context.channel}` : ''} (${error.message})`;
    if (!counts.has(key) && counts.size < 20) console.error(`[dashboard] pubsub ${key}`);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  };
}

try {
  // events: 'all' = job events of every worker on the backend (BullMQ), not only this process's,
  // which runs none: the live job feed and the job names it teaches come from remote workers.
  const platform = await createPlatform(configFromEnv(), { pubsub: { onError: summarizedErrors() }, queue: { events: 'all' } });
  const dashboard = createDashboard({ platform, jobNames, busGroup, channelPattern: channels === 'off' ? false : channels });
  const server = createServer((req, res) => {
    if (dashboard.handle(req, res)) return;
    if (req.url === '/' || req.url === '') {
      res.writeHead(302, { location: '/dashboard/' });
      res.end();
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('not found: the dashboard is at /dashboard/\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  await dashboard.ready();
  console.log(`[dashboard] http://${host}:${port}/dashboard/  (${platform.describe()})`);

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
