import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { asWritten, MAX_CORKED_BYTES, TickCork } from './redis-writes.js';

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
      cork.hold(client, 10);
      stream.write(chunk);
    }
    expect(stream.sent).toEqual([]);
    await nextTick();
    expect(stream.sent).toEqual([['a', 'b', 'c']]);
    expect(stream.corks).toBe(1);
    expect(stream.depth).toBe(0);
    cork.hold(client, 10);
    stream.write('d');
    await nextTick();
    expect(stream.sent).toEqual([['a', 'b', 'c'], ['d']]);
    expect(stream.depth).toBe(0);
  });

  it('lets a burst past MAX_CORKED_BYTES leave at once, so Redis starts on it while the tick goes on', async () => {
    const stream = new FakeStream();
    const cork = new TickCork();
    const size = Math.floor(MAX_CORKED_BYTES / 3) + 1;
    for (const chunk of ['a', 'b', 'c', 'd', 'e']) {
      cork.hold({ stream }, size);
      stream.write(chunk);
    }
    // Every third message would pass the bound: the two before it leave, it starts the next cork.
    expect(stream.sent).toEqual([['a', 'b'], ['c', 'd']]);
    await nextTick();
    expect(stream.sent).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    expect(stream.depth).toBe(0);
  });

  it('flush sends at once, and the tick that follows uncorks nothing twice', async () => {
    const stream = new FakeStream();
    const cork = new TickCork();
    cork.hold({ stream }, 10);
    stream.write('a');
    cork.flush();
    expect(stream.sent).toEqual([['a']]);
    await nextTick();
    expect(stream.depth).toBe(0);
  });

  it('leaves a client without a corkable stream alone (a Cluster, a custom client)', async () => {
    const cork = new TickCork();
    for (const client of [{}, { stream: null }, { stream: { cork: 1 } }, null, undefined]) cork.hold(client, 10);
    const stream = new FakeStream();
    cork.hold({ stream }, 10);
    stream.write('a');
    await nextTick();
    expect(stream.sent).toEqual([['a']]);
  });
});

describe('asWritten', () => {
  // ioredis writes a string argument as UTF-8: whatever asWritten returns must become the same bytes.
  const onTheWire = (written: Buffer | string): Buffer => (typeof written === 'string' ? Buffer.from(written, 'utf8') : written);

  it('puts the very same bytes on the wire for any message, hostile bytes included', () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 3000 }),
      fc.string({ unit: 'binary', maxLength: 500 }).map((s) => new TextEncoder().encode(s)),
      fc.string({ maxLength: 2500 }).map((s) => new TextEncoder().encode(JSON.stringify({ s }))),
    );
    fc.assert(
      fc.property(bytes, (raw) => {
        const data = Buffer.from(raw);
        expect(onTheWire(asWritten(data)).equals(data)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('hands small ASCII messages over as text and everything else as bytes', () => {
    expect(asWritten(Buffer.from('{"a":1}'))).toBe('{"a":1}');
    const accented = Buffer.from('{"a":"é"}');
    expect(asWritten(accented)).toBe(accented);
    const big = Buffer.from(`"${'x'.repeat(5000)}"`);
    expect(asWritten(big)).toBe(big);
  });
});
