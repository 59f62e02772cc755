/**
 * Server-sent events to the page. Items are batched every `flushMs` and at most `maxBatch` of each
 * kind go out per batch (the newest; the rest are counted as `dropped`), so a bus doing thousands of
 * events a second costs a browser a few small messages a second. A client that stops reading is
 * cut off once `maxBufferedBytes` wait in its socket; EventSource reconnects by itself.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LiveFeeds, LiveItem } from './live.js';

export interface StreamOptions {
  flushMs: number;
  maxBatch: number;
  maxBufferedBytes: number;
}

interface Client {
  res: ServerResponse;
  pending: { bus: unknown[]; channel: unknown[]; job: unknown[] };
  dropped: number;
}

export interface EventStream {
  serve(req: IncomingMessage, res: ServerResponse): void;
  close(): void;
}

export function createEventStream(feeds: LiveFeeds, options: StreamOptions): EventStream {
  const clients = new Set<Client>();
  let heartbeatAt = Date.now();

  const stopListening = feeds.listen((live: LiveItem) => {
    for (const client of clients) {
      const list = client.pending[live.kind];
      list.push(live.item);
      if (list.length > options.maxBatch) {
        list.shift();
        client.dropped += 1;
      }
    }
  });

  function drop(client: Client, how: 'end' | 'destroy'): void {
    clients.delete(client);
    // A client that stopped reading is destroyed: end() would keep its unread buffer in memory.
    if (how === 'destroy') client.res.destroy();
    else client.res.end();
  }

  const timer = setInterval(() => {
    const heartbeat = Date.now() - heartbeatAt > 15_000;
    if (heartbeat) heartbeatAt = Date.now();
    for (const client of clients) {
      if (client.res.writableLength > options.maxBufferedBytes) {
        drop(client, 'destroy');
        continue;
      }
      const { bus, channel, job } = client.pending;
      if (bus.length + channel.length + job.length > 0) {
        client.res.write(`event: batch\ndata: ${JSON.stringify({ bus, channel, job, dropped: client.dropped })}\n\n`);
        client.pending = { bus: [], channel: [], job: [] };
        client.dropped = 0;
      } else if (heartbeat) {
        // Keeps proxies from closing an idle stream.
        client.res.write(': heartbeat\n\n');
      }
    }
  }, options.flushMs);
  timer.unref();

  return {
    serve(req, res) {
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
      res.write('retry: 2000\n\n');
      const client: Client = { res, pending: { bus: [], channel: [], job: [] }, dropped: 0 };
      clients.add(client);
      req.on('close', () => clients.delete(client));
    },
    close() {
      clearInterval(timer);
      stopListening();
      for (const client of clients) drop(client, 'end');
    },
  };
}
