/**
 * `npm run demo`: the signup story on one page. Memory adapters and every context in this process
 * by default; see env.ts for the settings and DEMO_WORKERS=separate for one process per role.
 */
import { configFromEnv } from '@events/platform';
import { startDemo } from './app.js';
import { demoEnv } from './env.js';
import { createLogger } from './log.js';
import { exitOnSignal, exitOnStartError } from './shutdown.js';
import { checkSeparable, startWorkerProcesses, type WorkerProcesses } from './workers.js';

const log = createLogger('demo', { role: 'web' });
try {
  const { workers, options } = demoEnv();
  const platform = configFromEnv();
  let children: WorkerProcesses | undefined;
  if (workers === 'separate') {
    checkSeparable(platform);
    children = await startWorkerProcesses(log, platform.startTimeoutMs);
  }
  const inline = workers === 'inline';
  const demo = await startDemo({ ...options, platform, roles: { web: true, busConsumer: inline, queueWorker: inline }, log: { role: 'web' } }).catch(
    async (error: unknown) => {
      await children?.stop(5000);
      throw error;
    },
  );
  exitOnSignal(async () => {
    // Intake stops first (HTTP), then this process drains, then the worker processes drain.
    await demo.close({ timeoutMs: 10_000 });
    await children?.stop(15_000);
  }, log);
  log(`open ${demo.url}/?tenant=acme  (workers: ${workers}; try: curl -X POST ${demo.url}/api/signup -H 'content-type: application/json' -d '{"email":"ada@example.com","tenant":"acme"}')`);
} catch (error) {
  exitOnStartError(error, log);
}
