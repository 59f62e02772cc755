/**
 * The queue worker module, run by the queue package's worker runner in its own process:
 *
 *   EVENTS_PUBSUB=redis EVENTS_QUEUE=bullmq npm run worker -w @events/demo
 *   (= events-worker run src/queue-worker.ts)
 *
 * The runner starts the queue it gets from here and closes it on SIGTERM. What it gets is the
 * platform's queue with `close` widened to the whole platform, so the pubsub connection used for
 * the notifications is released too.
 */
import type { Queue } from '@events/queue';
import { startDemo } from './app.js';
import { demoEnv } from './env.js';
import { startTelemetry } from './telemetry.js';
import type { Jobs } from './types.js';

export default async function worker(): Promise<Queue<Jobs>> {
  const { options } = demoEnv();
  // Its spans join the web process's traces (OTEL_EXPORTER_OTLP_ENDPOINT); no HTTP server, so no /metrics.
  const telemetry = await startTelemetry({ ...process.env, DEMO_METRICS: 'off' });
  const demo = await startDemo({ ...options, roles: { web: false, busConsumer: false, queueWorker: true }, log: { role: 'worker' } });
  const queue: Queue<Jobs> = Object.create(demo.platform.queue) as Queue<Jobs>;
  const close: Queue<Jobs>['close'] = async (closeOptions) => {
    try {
      await demo.close(closeOptions);
    } finally {
      await telemetry.shutdown();
    }
  };
  return Object.assign(queue, { close });
}
