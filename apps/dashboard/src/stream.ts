/**
 * Server-sent events to the page. Items are batched every `flushMs` and at most `maxBatch` of each
 * kind go out per batch (the newest; the rest are counted as `dropped`), so a bus doing thousands of
 * events a second costs a browser a few small messages a second. A client that stops reading is
 * cut off once `maxBufferedBytes` wait in its socket; EventSource reconnects by itself.
 *
 * Each stream first says `event: ready` once the dashboard's live subscriptions are registered:
 * from then on every bus event and pubsub message reaches it (a client, or a test, waits for it
 * instead of guessing). At most `maxClients` streams at once; one more is answered 503.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, SECURITY_HEADERS } from './http-kit.js';
import type { LiveFeeds, LiveItem } from './live.js';

export interface StreamOptions {
  flushMs: number;
  maxBatch: number;
  maxBufferedBytes: number;
  /** Streams open at once. */
  maxClients: number;
  /** A stream's socket failed (other than the peer leaving). */
  onError?: (error: Error) => void;
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
  let closed = false;

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

  /** Writes unless the peer is gone; false (and the client forgotten) when it is. */
  function send(client: Client, text: string): boolean {
    if (client.res.destroyed || client.res.writableEnded) {
      clients.delete(client);
      return false;
    }
    client.res.write(text);
    return true;
  }

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
        send(client, `event: batch\ndata: ${JSON.stringify({ bus, channel, job, dropped: client.dropped })}\n\n`);
        client.pending = { bus: [], channel: [], job: [] };
        client.dropped = 0;
      } else if (heartbeat) {
        // Keeps proxies from closing an idle stream.
        send(client, ': heartbeat\n\n');
      }
    }
  }, options.flushMs);
  timer.unref();

  return {
    serve(req, res) {
      if (closed) throw new HttpError(503, 'dashboard closed');
      if (clients.size >= options.maxClients) throw new HttpError(503, `too many event streams open (${options.maxClients})`, { headers: { 'retry-after': '5' } });
      res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
      res.write('retry: 2000\n\n');
      const client: Client = { res, pending: { bus: [], channel: [], job: [] }, dropped: 0 };
      clients.add(client);
      req.on('close', () => clients.delete(client));
      res.on('error', (error: NodeJS.ErrnoException) => {
        clients.delete(client);
        if (error.code !== 'ECONNRESET' && error.code !== 'EPIPE') options.onError?.(error);
      });
      feeds.ready.then(
        () => void (clients.has(client) && send(client, 'event: ready\ndata: {}\n\n')),
        () => {
          if (!clients.has(client)) return;
          send(client, 'event: failed\ndata: {"error":"the live subscriptions failed"}\n\n');
          drop(client, 'end');
        },
      );
    },
    close() {
      closed = true;
      clearInterval(timer);
      stopListening();
      for (const client of clients) drop(client, 'end');
    },
  };
}
