/** Two real OS processes talking through real Redis. */
import { afterEach, describe, expect, it } from 'vitest';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createPubSub, type PubSub } from '../src/index.js';
import { redisPubSub } from '../src/adapters/redis.js';
import { REDIS_URL, randomId, spawnTs, waitFor, type SpawnedTs } from '@events/testing';

const script = fileURLToPath(new URL('./fixtures/subscriber-process.ts', import.meta.url));

describe('two OS processes over Redis', () => {
  let proc: SpawnedTs | undefined;
  let pubsub: PubSub | undefined;
  afterEach(async () => {
    proc?.child.stdin!.end(); // the child exits when its stdin ends
    if (proc && proc.child.exitCode === null) await proc.exited;
    await pubsub?.close();
  });

  it('delivers across processes, counts remote receivers and answers requests', async () => {
    const ns = randomId('proc');
    proc = spawnTs(script, [], { env: { NS: ns, REDIS_URL }, stdio: ['pipe', 'pipe', 'pipe'] });
    const { child, stderr } = proc;
    const lines: Array<Record<string, unknown>> = [];
    createInterface({ input: child.stdout! }).on('line', (line) => lines.push(JSON.parse(line) as Record<string, unknown>));
    await waitFor(() => lines.some((l) => 'ready' in l) || child.exitCode !== null, 20_000, 'the child process');
    expect(stderr()).toBe('');
    const childReady = lines.find((l) => 'ready' in l)!;
    expect(childReady.pid).not.toBe(process.pid);

    pubsub = createPubSub({ adapter: redisPubSub({ url: REDIS_URL }) });
    const mine: unknown[] = [];
    await pubsub.subscribe(`${ns}:room`, (m) => void mine.push(m));
    // 1 local handler + the other process's subscription.
    expect(await pubsub.broadcast(`${ns}:room`, { n: 1 })).toBe(2);
    expect(await pubsub.broadcast(`${ns}:user:7:notifications`, { text: 'hi' })).toBe(1);
    expect(await pubsub.localBroadcast(`${ns}:room`, { n: 'local' })).toBe(1);
    const reply = await pubsub.request(`${ns}:rpc`, 'ping', { timeoutMs: 10_000 });
    expect(reply).toEqual({ pid: childReady.pid, echo: 'ping' });

    await waitFor(() => lines.filter((l) => 'message' in l).length === 2);
    expect(lines.filter((l) => !('ready' in l))).toEqual([
      { message: { n: 1 }, channel: `${ns}:room` },
      { message: { text: 'hi' }, channel: `${ns}:user:7:notifications`, pattern: `${ns}:user:*:notifications` },
    ]);
    expect(mine).toEqual([{ n: 1 }, { n: 'local' }]);
  });
});
