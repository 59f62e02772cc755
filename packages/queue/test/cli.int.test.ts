/** The dead-letter CLI (through the package's bin shim) against real Redis. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { bullmqQueue } from '../src/adapters/bullmq.js';
import { createQueue } from '../src/index.js';
import { REDIS_URL } from '@events/testing';
import { deletePrefix, randomPrefix } from './helpers.js';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../bin/events-worker.js', import.meta.url));

describe('events-worker dead-letters CLI', () => {
  const prefix = randomPrefix();
  afterEach(() => deletePrefix(prefix));

  it('lists, counts, replays (dry run first) and discards', async () => {
    const queue = createQueue<{ report: { n: number }; mail: object }>({ adapter: bullmqQueue({ url: REDIS_URL, prefix }) });
    const replayed: Array<string | undefined> = [];
    await queue.process('report', (p, ctx) => {
      if (ctx.envelope.headers.replayOf) return void replayed.push(ctx.envelope.headers.replayOf);
      throw new RangeError(`report ${p.n} failed`);
    });
    await queue.process('mail', () => {
      throw new Error('smtp');
    });
    const ids = await queue.enqueueMany([
      { name: 'report', payload: { n: 1 }, options: { attempts: 1 } },
      { name: 'report', payload: { n: 2 }, options: { attempts: 1 } },
      { name: 'mail', payload: {}, options: { attempts: 1 } },
    ]);
    await queue.waitUntilIdle();
    const cli = async (...args: string[]) => (await run(process.execPath, [bin, 'dead-letters', ...args, '--url', REDIS_URL, '--prefix', prefix])).stdout.trim();

    // Read-only commands are independent: run them side by side (each is a process start).
    const [count, filtered, listedJson, listedMail, dry] = await Promise.all([
      cli('count'),
      cli('count', '--name', 'report', '--error', 'RangeError'),
      cli('list', '--name', 'report', '--json'),
      cli('list', '--name', 'mail'),
      cli('replay', '--name', 'report', '--dry-run'),
    ]);
    expect(count).toBe('3');
    expect(filtered).toBe('2');
    const listed = JSON.parse(listedJson) as Array<{ id: string; error: { message: string } }>;
    expect(listed.map((l) => l.id).sort()).toEqual([ids[0], ids[1]].sort());
    expect(listedMail).toMatch(/mail .* Error: smtp\s+\(attempts 1\)/);
    expect(dry).toMatch(/would replay report/);
    expect(await cli('count')).toBe('3');
    const result = JSON.parse(await cli('replay', '--name', 'report', '--rate', '50', '--json')) as { replayed: Array<{ from: string; id: string }> };
    expect(result.replayed).toHaveLength(2);
    await queue.waitUntilIdle();
    expect(replayed.sort()).toEqual([ids[0], ids[1]].sort());

    expect(await cli('discard', '--name', 'mail')).toBe('discarded 1');
    expect(await cli('count')).toBe('0');
    await queue.close();
  }, 60_000);
});
