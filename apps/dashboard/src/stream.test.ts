import { createServer, get, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import type { LiveFeeds, LiveItem } from './live.js';
import { createEventStream, type EventStream } from './stream.js';

let server: Server | undefined;
let stream: EventStream | undefined;
afterEach(async () => {
  stream?.close();
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
});

function fakeFeeds(): { feeds: LiveFeeds; push(item: LiveItem): void } {
  const listeners = new Set<(item: LiveItem) => void>();
  const feeds = {
    ready: Promise.resolve(),
    listen(listener: (item: LiveItem) => void) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
  } as unknown as LiveFeeds;
  return { feeds, push: (item) => listeners.forEach((l) => l(item)) };
}

async function serve(s: EventStream): Promise<string> {
  server = createServer((req, res) => s.serve(req, res));
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

function open(url: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => get(url, resolve).on('error', reject));
}

function nextEvent(res: IncomingMessage, name: string): Promise<string> {
  return new Promise((resolve) => {
    let buffer = '';
    const onData = (chunk: Buffer): void => {
      buffer += chunk.toString('utf8');
      const match = new RegExp(`event: ${name}\\ndata: (.*)\\n\\n`).exec(buffer);
      if (match) {
        res.off('data', onData);
        resolve(match[1]!);
      }
    };
    res.on('data', onData);
  });
}

const channelItem = (i: number): LiveItem => ({ kind: 'channel', item: { id: String(i), channel: 'room:1', message: String(i), at: new Date(0).toISOString() } });

it('batches items, keeps the newest maxBatch per kind and counts the dropped', async () => {
  const { feeds, push } = fakeFeeds();
  stream = createEventStream(feeds, { flushMs: 50, maxBatch: 2, maxBufferedBytes: 1024 * 1024, maxClients: 10 });
  const res = await open(await serve(stream));
  // The client is registered once the response head arrived.
  const batch = nextEvent(res, 'batch');
  for (let i = 0; i < 5; i += 1) push(channelItem(i));
  const body = JSON.parse(await batch) as { channel: Array<{ id: string }>; bus: unknown[]; dropped: number };
  expect(body.channel.map((c) => c.id)).toEqual(['3', '4']);
  expect(body.bus).toEqual([]);
  expect(body.dropped).toBe(3);
  res.destroy();
});

it('cuts off a client whose socket holds more than maxBufferedBytes, and close() ends the others', async () => {
  const { feeds, push } = fakeFeeds();
  stream = createEventStream(feeds, { flushMs: 20, maxBatch: 1000, maxBufferedBytes: 64 * 1024, maxClients: 10 });
  const served: ServerResponse[] = [];
  server = createServer((req, res) => {
    served.push(res);
    stream!.serve(req, res);
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

  const slow = await open(url);
  slow.pause(); // never reads: the server's socket buffer fills up
  slow.on('error', () => undefined); // the server resets it
  const cut = new Promise<void>((resolve) => served[0]!.on('close', () => resolve()));
  const big = 'x'.repeat(16 * 1024);
  const flood = setInterval(() => {
    for (let i = 0; i < 50; i += 1) push({ kind: 'channel', item: { id: 'x', channel: 'room:1', message: big, at: '' } });
  }, 10);
  try {
    await cut;
  } finally {
    clearInterval(flood);
  }
  expect(served[0]!.writableFinished).toBe(false); // destroyed, not politely ended with its backlog

  const other = await open(url);
  const otherEnded = new Promise<void>((resolve) => other.on('end', () => resolve()));
  other.resume();
  stream.close();
  await otherEnded;
});
