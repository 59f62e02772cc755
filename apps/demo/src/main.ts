/**
 * `npm run demo`: the signup story on one page. Memory adapters and every context in this process
 * by default; see env.ts for the settings and DEMO_WORKERS=separate for one process per role.
 */
import { configFromEnv } from '@events/platform';
import { startDemo, type Demo } from './app.js';
import { demoEnv } from './env.js';
import { createLogger } from './log.js';
import { exitOnSignal, exitOnStartError } from './shutdown.js';
import { startTelemetry, type DemoTelemetry } from './telemetry.js';
import { checkSeparable, startWorkerProcesses, type WorkerProcesses } from './workers.js';

const log = createLogger('demo', { role: 'web' });
let demo: Demo | undefined;
let children: WorkerProcesses | undefined;
let telemetry: DemoTelemetry | undefined;
// Installed before anything starts, so a SIGTERM during startup still stops the worker processes.
exitOnSignal(async () => {
  // Intake stops first (HTTP), then this process drains, then the worker processes drain.
  await demo?.close({ timeoutMs: 10_000 });
  await children?.stop(15_000);
}, log, { telemetry: () => telemetry });
try {
  const { workers, options } = demoEnv();
  // Registered before the platform makes its instruments (see telemetry.ts).
  telemetry = await startTelemetry();
  log(telemetry.describe());
  const platform = configFromEnv();
  if (workers === 'separate') {
    checkSeparable(platform);
    children = await startWorkerProcesses(log, platform.startTimeoutMs);
  }
  const inline = workers === 'inline';
  demo = await startDemo({ ...options, metrics: telemetry.metrics, platform, roles: { web: true, busConsumer: inline, queueWorker: inline }, log: { role: 'web' } });
  log(`open ${demo.url}/?tenant=acme  (workers: ${workers}; try: curl -X POST ${demo.url}/api/signup -H 'content-type: application/json' -d '{"email":"ada@example.com","tenant":"acme"}')`);
  // A token given in DASHBOARD_TOKEN stays out of the log; a random one is printed, or nobody could log in.
  const login = process.env.DASHBOARD_TOKEN ? `${demo.url}/login?token=<DASHBOARD_TOKEN>` : demo.loginUrl;
  log(`dashboard: ${login}  (or send "Authorization: Bearer <token>" to ${demo.url}/dashboard/api/...)`);
} catch (error) {
  await children?.stop(5000);
  await telemetry?.shutdown(1000);
  exitOnStartError(error, log);
}
