/**
 * A TCP proxy in front of a broker, for fault tests. `cut()` destroys both sides of every live
 * connection (the broker forgets the client and its subscriptions; the client sees its socket
 * drop). `refuse()` makes it drop every new connection as soon as it is accepted, until `resume()`:
 * a broker that is down. A test that wants "down until restored" calls `refuse()` then `cut()`.
 */
import net from 'node:net';

export interface TcpProxy {
  /** The proxy's port on 127.0.0.1. */
  readonly port: number;
  /** The target URL (scheme, credentials, path kept) with the proxy as its host. */
  readonly url: string;
  /** Connections let through so far (refused ones are not counted). */
  readonly accepted: number;
  cut(): void;
  refuse(): void;
  resume(): void;
  /** Cuts every connection and stops listening. */
  close(): Promise<void>;
}

const DEFAULT_PORTS: Record<string, number> = { 'redis:': 6379, 'amqp:': 5672 };

/** Starts a proxy on a free port of 127.0.0.1 to the host and port of `target` (a broker URL). */
export async function startTcpProxy(target: string): Promise<TcpProxy> {
  const to = new URL(target);
  const host = to.hostname.replace(/^\[|\]$/g, '');
  const port = Number(to.port || DEFAULT_PORTS[to.protocol]);
  if (!port) throw new Error(`no port in ${to.protocol} URL and no default known for it`);
  const sockets = new Set<net.Socket>();
  let refusing = false;
  let accepted = 0;
  const server = net.createServer((client) => {
    if (refusing) return void client.destroy();
    accepted += 1;
    const upstream = net.connect(port, host);
    sockets.add(client).add(upstream);
    // Either side ending ends the pair, so a cut looks the same to the client and to the broker.
    const drop = (): void => {
      for (const s of [client, upstream]) {
        s.destroy();
        sockets.delete(s);
      }
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const own = (server.address() as net.AddressInfo).port;
  const via = new URL(target);
  via.host = `127.0.0.1:${own}`;
  const cut = (): void => {
    for (const s of sockets) s.destroy();
    sockets.clear();
  };
  return {
    port: own,
    url: via.toString(),
    get accepted() {
      return accepted;
    },
    cut,
    refuse: () => void (refusing = true),
    resume: () => void (refusing = false),
    async close() {
      cut();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
