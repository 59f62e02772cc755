/** A gateway on a real HTTP server over a memory PubSub, and raw `ws` clients for the tests. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { createMemoryHub, createPubSub, memoryPubSub, type PubSub } from '../src/index.js';
import { createWebSocketGateway, type WebSocketGateway, type WebSocketGatewayOptions } from '../src/websocket/index.js';
import type { ServerFrame } from '../src/websocket/protocol.js';
import type { PubSubAdapter } from '@events/core';

export interface GatewayFixture {
  server: http.Server;
  pubsub: PubSub;
  adapter: PubSubAdapter;
  hub: ReturnType<typeof createMemoryHub>;
  gateway: WebSocketGateway;
  url: string;
  close(): Promise<void>;
}

export async function startGateway(options: Partial<Omit<WebSocketGatewayOptions, 'pubsub' | 'server'>> = {}): Promise<GatewayFixture> {
  const server = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const hub = createMemoryHub();
  const adapter = memoryPubSub({ hub });
  const pubsub = createPubSub({ adapter });
  // Tests that are not about authorization open every subscription explicitly.
  const gateway = createWebSocketGateway({ pubsub, server, ...(options.authorize ? {} : { insecure: true }), ...options });
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}${options.path ?? '/pubsub'}`;
  const fixture: GatewayFixture = {
    server,
    pubsub,
    adapter,
    hub,
    gateway,
    url,
    async close() {
      await fixture.gateway.close();
      await pubsub.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  return fixture;
}

/** A raw protocol client recording every frame and its close code. */
export class RawClient {
  readonly frames: ServerFrame[] = [];
  closed: { code: number; reason: string } | undefined;
  readonly ws: WebSocket;
  readonly opened: Promise<void>;

  constructor(url: string, headers?: Record<string, string>) {
    this.ws = new WebSocket(url, headers ? { headers } : {});
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.ws.on('message', (data) => this.frames.push(JSON.parse(String(data)) as ServerFrame));
    this.ws.on('close', (code, reason) => (this.closed = { code, reason: reason.toString() }));
    this.ws.on('error', () => undefined);
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  of<T extends ServerFrame['type']>(type: T): Array<Extract<ServerFrame, { type: T }>> {
    return this.frames.filter((f): f is Extract<ServerFrame, { type: T }> => f.type === type);
  }

  /**
   * Stops reading from the socket: the server's writes pile up as for a slow or stuck browser.
   * ws' own pause, so ws does not resume the socket by itself when its parser drains.
   */
  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    this.ws.resume();
  }
}
