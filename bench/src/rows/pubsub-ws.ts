/**
 * Websocket fan-out: one message to N clients. The clients live in another process (the farm) so
 * this process pays only the server side. Raw: `ws` server, JSON.stringify once, `client.send` to
 * every open client (the broadcast idiom from the ws README).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { makePayload, sizeLabel } from '../payload.js';
import type { PhaseResult, DriveSpec } from '../driver.js';
import type { RowContext, RowDef } from '../row.js';
import { acquireFarm, type Farm } from '../ws-farm.js';

export async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * Drives a fan-out with completions counted by the farm; the latency summary is the farm's
 * (client-side receive time minus the stamp set here before sending).
 */
export async function measureFanout(ctx: RowContext, farm: Farm, spec: Pick<DriveSpec, 'send' | 'fanout'>): Promise<PhaseResult> {
  const result = await ctx.measure({ ...spec, complete: 'delivery', beforePhase: () => farm.reset() });
  const summary = await farm.summary();
  return { ...result, latencyMs: summary.latencyMs };
}

async function rawBroadcast(ctx: RowContext, size: number, clients: number): Promise<PhaseResult> {
  const server = createServer();
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  const farm = acquireFarm((completed) => ctx.rec.setCompleted(completed));
  try {
    const url = await listen(server);
    await farm.connect({ url, clients });
    return await measureFanout(ctx, farm, {
      fanout: clients,
      send: (stamp, i) => {
        const data = JSON.stringify(makePayload(size, stamp, i));
        for (const client of wss.clients) if (client.readyState === WebSocket.OPEN) client.send(data);
      },
    });
  } finally {
    await farm.drop();
    wss.close();
    await closeServer(server);
  }
}

export type FanoutRunner = (ctx: RowContext, size: number, clients: number) => Promise<PhaseResult>;

export function pubsubWsRows(impl: 'ours' | 'raw', run: FanoutRunner): RowDef[] {
  const cells = [
    { size: 100, clients: 1 },
    { size: 100, clients: 100 },
    { size: 100, clients: 1_000 },
    { size: 10_240, clients: 1 },
    { size: 10_240, clients: 100 },
    { size: 10_240, clients: 1_000 },
  ];
  return cells.map(({ size, clients }) => ({
    id: `pubsub/websocket/${impl}/fanout-${clients}/${sizeLabel(size)}`,
    tier: 'pubsub',
    transport: 'websocket',
    impl,
    scenario: `fan-out to N=${clients} clients`,
    payloadBytes: size,
    pair: `pubsub/websocket/fanout-${clients}/${size}`,
    fanout: clients,
    // About 500 frames (50 of 10 KB) in flight whatever N is: within the gateway's default
    // per-client buffer (1 000 messages, 1 MiB), so ours never drops where raw would not.
    inflight: size > 1_000 ? 50 : 500,
    target: impl === 'ours' ? 0.8 : undefined,
    run: (ctx) => run(ctx, size, clients),
  }) satisfies RowDef);
}

export const rawPubSubWsRows = pubsubWsRows('raw', rawBroadcast);
