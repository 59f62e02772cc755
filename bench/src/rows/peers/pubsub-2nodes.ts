/**
 * Two websocket server nodes over Redis, the way a team runs past one core: our gateway over the
 * Redis pubsub against Socket.IO 4 with @socket.io/redis-adapter, in the same topology. Node A is
 * this process (it broadcasts to a room); node B is a child process; the N clients (half on each
 * node) live in the farm process. CPU µs/msg is both servers' CPU per delivered message; peak RSS
 * is node A's.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withTimeout } from '@events/core';
import { makePayload, sizeLabel } from '../../payload.js';
import { uniqueName, type RowContext, type RowDef } from '../../row.js';
import type { PhaseResult } from '../../driver.js';
import { acquireFarm, CHILD_EXEC_ARGV } from '../../ws-farm.js';
import { ROOM, startWsNode, type WsNodeKind } from './ws-node.js';
import type { NodeReply, NodeRequest } from './ws-node-child.js';

const here = dirname(fileURLToPath(import.meta.url));

interface ChildNode {
  readonly url: string;
  usage(): Promise<{ cpuUs: number; rssMB: number }>;
  close(): void;
}

function forkNode(kind: WsNodeKind, namespace: string, onError: (error: Error) => void): Promise<ChildNode> {
  const child: ChildProcess = fork(join(here, 'ws-node-child.ts'), [kind, namespace], {
    execArgv: CHILD_EXEC_ARGV,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let waiting: ((reply: Extract<NodeReply, { type: 'usage' }>) => void) | undefined;
  return withTimeout(
    new Promise<ChildNode>((resolve, reject) => {
      child.on('message', (reply: NodeReply) => {
        if (reply.type === 'ready') {
          resolve({
            url: reply.url,
            usage: () => withTimeout(new Promise((r) => ((waiting = r), child.send({ type: 'usage' } satisfies NodeRequest))), 10_000, 'node B usage'),
            close() {
              if (child.connected) child.send({ type: 'close' } satisfies NodeRequest);
              setTimeout(() => child.kill('SIGKILL'), 3_000).unref();
            },
          });
        } else if (reply.type === 'usage') {
          waiting?.(reply);
        } else {
          onError(new Error(`node B: ${reply.message}`));
          reject(new Error(`node B: ${reply.message}`));
        }
      });
      child.once('exit', (code) => reject(new Error(`node B exited (${code})`)));
    }),
    30_000,
    'node B start',
  );
}

async function run(ctx: RowContext, kind: WsNodeKind, size: number, clients: number): Promise<PhaseResult> {
  const namespace = uniqueName('bench');
  const onError = (error: Error): void => ctx.rec.fail(error);
  const nodeB = await forkNode(kind, namespace, onError);
  const nodeA = await startWsNode(kind, namespace, onError).catch((error: unknown) => {
    nodeB.close();
    throw error;
  });
  const farm = acquireFarm((completed) => ctx.rec.setCompleted(completed));
  const ownCpu = (): number => {
    const { user, system } = process.cpuUsage();
    return user + system;
  };
  let start = { own: 0, b: 0 };
  try {
    await farm.connect({
      url: nodeA.url,
      urls: [nodeA.url, nodeB.url],
      clients,
      kind: kind === 'ours' ? 'ws' : 'socket.io',
      ...(kind === 'ours' ? { subscribeFrame: JSON.stringify({ type: 'subscribe', id: 1, topic: ROOM }), ackMatch: '"subscribed"' } : {}),
    });
    const result = await ctx.measure({
      fanout: clients,
      complete: 'delivery',
      async beforePhase(measured) {
        await farm.reset();
        if (measured) start = { own: ownCpu(), b: (await nodeB.usage()).cpuUs };
      },
      send: (stamp, i) => nodeA.broadcast(makePayload(size, stamp, i)),
    });
    const serverCpuUs = ownCpu() - start.own + ((await nodeB.usage()).cpuUs - start.b);
    const summary = await farm.summary();
    return { ...result, latencyMs: summary.latencyMs, cpuUsPerMsg: result.completed > 0 ? serverCpuUs / result.completed : Number.NaN };
  } finally {
    await farm.drop();
    nodeB.close();
    await nodeA.close().catch(() => undefined);
  }
}

function rows(kind: WsNodeKind): RowDef[] {
  const size = 100;
  return [100, 1_000].map((clients) => ({
    id: `pubsub/websocket-2nodes/${kind === 'ours' ? 'ours' : 'socket.io'}/fanout-${clients}/${sizeLabel(size)}`,
    tier: 'pubsub',
    transport: 'websocket, 2 nodes over Redis',
    impl: kind === 'ours' ? 'ours' : 'peer',
    ...(kind === 'ours' ? {} : { peer: 'socket.io + redis-adapter' }),
    scenario: `broadcast to a room, N=${clients} clients on 2 nodes`,
    payloadBytes: size,
    pair: `pubsub/websocket-2nodes/fanout-${clients}/${size}`,
    broker: 'redis',
    fanout: clients,
    inflight: 500,
    run: (ctx: RowContext) => run(ctx, kind, size, clients),
  }) satisfies RowDef);
}

export const twoNodeWsRows: RowDef[] = [...rows('ours'), ...rows('socket.io')];
