/**
 * Node B of the two-node websocket rows: a server in its own process (the second core), started
 * with the kind and namespace in argv; it reports its url, and its CPU time and RSS on request.
 */
import { startWsNode, type WsNodeKind } from './ws-node.js';

export type NodeRequest = { type: 'usage' } | { type: 'close' };
export type NodeReply = { type: 'ready'; url: string } | { type: 'usage'; cpuUs: number; rssMB: number } | { type: 'error'; message: string };

const [kind, namespace] = process.argv.slice(2) as [WsNodeKind, string];
const send = (reply: NodeReply): void => void process.send?.(reply);

startWsNode(kind, namespace, (error) => send({ type: 'error', message: error.message })).then(
  (node) => {
    send({ type: 'ready', url: node.url });
    process.on('message', (message: NodeRequest) => {
      if (message.type === 'usage') {
        const { user, system } = process.cpuUsage();
        send({ type: 'usage', cpuUs: user + system, rssMB: process.memoryUsage.rss() / 1024 / 1024 });
      } else {
        void node.close().finally(() => process.exit(0));
      }
    });
  },
  (error: unknown) => {
    send({ type: 'error', message: error instanceof Error ? error.message : String(error) });
    process.exit(1);
  },
);
process.on('disconnect', () => process.exit(0));
