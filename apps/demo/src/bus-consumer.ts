/**
 * The bus consumer process: the audit and notifications contexts (groups `audit` and
 * `notifications`), apart from the web process. Run it as many times as you like: each group still
 * gets each event once. Needs a shared bus (EVENTS_BUS=rabbitmq).
 *
 *   EVENTS_PUBSUB=redis EVENTS_BUS=rabbitmq EVENTS_QUEUE=bullmq npm run consumer -w @events/demo
 */
import { startDemo } from './app.js';
import { demoEnv } from './env.js';
import { createLogger } from './log.js';
import { exitOnSignal, exitOnStartError } from './shutdown.js';
import { startTelemetry } from './telemetry.js';

const log = createLogger('consumer', { role: 'consumer' });
try {
  const { options } = demoEnv();
  // Its spans join the web process's traces (OTEL_EXPORTER_OTLP_ENDPOINT); no HTTP server, so no /metrics.
  const telemetry = await startTelemetry({ ...process.env, DEMO_METRICS: 'off' });
  const demo = await startDemo({ ...options, roles: { web: false, busConsumer: true, queueWorker: false }, log: { role: 'consumer' } });
  exitOnSignal(() => demo.close(), log, { telemetry: () => telemetry });
  // Started by a web process (DEMO_WORKERS=separate) that died without stopping us: drain and leave.
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  log(`ready (pid ${process.pid})`);
  // Tells a parent that spawned this process (DEMO_WORKERS=separate) that the groups are bound.
  process.send?.('ready');
} catch (error) {
  exitOnStartError(error, log);
}
