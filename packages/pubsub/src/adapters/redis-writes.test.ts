import { describe, expect, it } from 'vitest';
import { TickCork } from './redis-cork.js';

/** A stream that records cork depth and what left it, as a socket would. */
class FakeStream {
  depth = 0;
  corks = 0;
  readonly pending: string[] = [];
  readonly sent: string[][] = [];
  cork(): void {
    this.depth += 1;
    this.corks += 1;
  }
  uncork(): void {
    this.depth -= 1;
    if (this.depth === 0 && this.pending.length > 0) this.sent.push(this.pending.splice(0));
  }
  write(chunk: string): void {
    this.pending.push(chunk);
    if (this.depth === 0) this.sent.push(this.pending.splice(0));
  }
}

const nextTick = (): Promise<void> => new Promise((resolve) => process.nextTick(resolve));

describe('TickCork', () => {
  it('sends the writes of one tick in one go, in order, and corks once per tick', async () => {
    const stream = new FakeStream();
    const client = { stream };
    const cork = new TickCork();
    for (const chunk of ['a', 'b', 'c']) {
      cork.hold(client);
      stream.write(chunk);
    }
    expect(stream.sent).toEqual([]);
    await nextTick();
    expect(stream.sent).toEqual([['a', 'b', 'c']]);
    expect(stream.corks).toBe(1);
    expect(stream.depth).toBe(0);
    cork.hold(client);
    stream.write('d');
    await nextTick();
    expect(stream.sent).toEqual([['a', 'b', 'c'], ['d']]);
    expect(stream.depth).toBe(0);
  });

  it('flush sends at once, and the tick that follows uncorks nothing twice', async () => {
    const stream = new FakeStream();
    const cork = new TickCork();
    cork.hold({ stream });
    stream.write('a');
    cork.flush();
    expect(stream.sent).toEqual([['a']]);
    await nextTick();
    expect(stream.depth).toBe(0);
  });

  it('leaves a client without a corkable stream alone (a Cluster, a custom client)', async () => {
    const cork = new TickCork();
    for (const client of [{}, { stream: null }, { stream: { cork: 1 } }, null, undefined]) cork.hold(client);
    const stream = new FakeStream();
    cork.hold({ stream });
    stream.write('a');
    await nextTick();
    expect(stream.sent).toEqual([['a']]);
  });
});
