/**
 * `events-worker`: run a worker module, or inspect and replay dead letters of a BullMQ-backed queue.
 *
 *   events-worker run ./worker.ts [--drain-timeout 10000]
 *   events-worker dead-letters list|count|replay|discard [--url redis://...] [--prefix bull]
 *       [--name N] [--jobs a,b] [--error E] [--from ISO] [--to ISO] [--ids a,b] [--limit N]
 *       [--dry-run] [--rate N] [--keep] [--json]
 *   events-worker migrate [--url postgres://...] [--schema events_queue]
 */
import { bullmqQueue } from '../adapters/bullmq.js';
import { createQueue } from '../queue.js';
import type { DeadLetterQuery } from '../dead-letters.js';
import { dateFlag, flag, numberFlag, parseArgs, type ParsedArgs } from './args.js';
import { runWorker } from './runner.js';

const USAGE = `usage:
  events-worker run <module> [--drain-timeout ms]
  events-worker dead-letters <list|count|replay|discard> [--url redis://127.0.0.1:6379] [--prefix bull]
      [--name job] [--jobs a,b] [--error text] [--from date] [--to date] [--ids a,b] [--limit n]
      [--dry-run] [--rate per-second] [--keep] [--json]
  events-worker migrate [--url postgres://postgres@127.0.0.1:5432/postgres] [--schema events_queue]
      applies the PostgreSQL queue's migrations (DATABASE_URL when --url is not given)
  --jobs: job names whose jobs other workers (plain BullMQ) failed, to include in the view`;

function query(args: ParsedArgs): DeadLetterQuery {
  const ids = flag(args, 'ids');
  return {
    name: flag(args, 'name'),
    error: flag(args, 'error'),
    from: dateFlag(args, 'from'),
    to: dateFlag(args, 'to'),
    limit: numberFlag(args, 'limit'),
    ...(ids ? { ids: ids.split(',').filter(Boolean) } : {}),
  };
}

async function deadLetters(action: string | undefined, args: ParsedArgs): Promise<number> {
  // Job names whose BullMQ failed sets the view includes (jobs a plain BullMQ worker failed).
  const names = [...(flag(args, 'jobs')?.split(',') ?? []), ...(flag(args, 'name') ? [flag(args, 'name')!] : [])].filter(Boolean);
  const queue = createQueue({
    adapter: bullmqQueue({ url: flag(args, 'url') ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', prefix: flag(args, 'prefix') ?? 'bull', evictionPolicy: 'warn' }),
    names,
    onError: (event) => console.error(`events-worker: ${event.kind}${event.name ? ` (${event.name})` : ''}: ${event.error.message}`),
  });
  const json = args.flags.has('json');
  const print = (value: unknown, text: string): void => console.log(json ? JSON.stringify(value) : text);
  try {
    const q = query(args);
    switch (action) {
      case 'list': {
        const letters = await queue.deadLetters.list(q);
        print(
          letters,
          letters.map((l) => `${l.failedAt.toISOString()}  ${l.name}  ${l.id}  ${l.error.name}: ${l.error.message}  (attempts ${l.attemptsMade})`).join('\n') || '(none)',
        );
        return 0;
      }
      case 'count': {
        const n = await queue.deadLetters.count(q);
        print({ count: n }, String(n));
        return 0;
      }
      case 'replay': {
        const result = await queue.deadLetters.replay({ ...q, dryRun: args.flags.has('dry-run'), keep: args.flags.has('keep'), ratePerSecond: numberFlag(args, 'rate') });
        const verb = result.dryRun ? 'would replay' : 'replayed';
        print(result, [...result.replayed.map((r) => `${verb} ${r.name} ${r.from}${r.id ? ` -> ${r.id}` : ''}`), ...result.skipped.map((s) => `skipped ${s.id}: ${s.reason}`)].join('\n') || '(none)');
        return 0;
      }
      case 'discard': {
        const n = await queue.deadLetters.discard(q);
        print({ discarded: n }, `discarded ${n}`);
        return 0;
      }
      default:
        console.error(USAGE);
        return 2;
    }
  } finally {
    await queue.close();
  }
}

async function main(argv: readonly string[]): Promise<void> {
  // The shim's IPC channel only reports the parent's death (see runner.ts); it must not keep a
  // one-shot command alive.
  process.channel?.unref();
  const args = parseArgs(argv);
  const [command, sub] = args.positional;
  if (command === 'run' && sub) {
    await runWorker(sub, { drainTimeoutMs: numberFlag(args, 'drain-timeout') ?? 10_000, log: (line) => console.log(line) });
    return;
  }
  if (command === 'migrate') {
    // pg loads only for this command.
    const { migrate } = await import('../adapters/postgres.js');
    const schema = flag(args, 'schema');
    const applied = await migrate({ connectionString: flag(args, 'url') ?? process.env.DATABASE_URL, ...(schema ? { schema } : {}) });
    console.log(applied.length > 0 ? `events-worker: applied migrations ${applied.join(', ')}` : 'events-worker: schema up to date');
    return;
  }
  if (command === 'dead-letters') {
    process.exitCode = await deadLetters(sub, args);
    return;
  }
  console.error(USAGE);
  process.exitCode = 2;
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(`events-worker: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
