/**
 * The checks behind resolveConfig: URLs, Redis Cluster node lists, names. Each throws a
 * ConfigError that says which setting, what was given and what is expected.
 */
import { ConfigError, redactUrl } from '@events/core';

export const CLUSTER_FORM = 'host:port,host:port,... (one or more nodes of the cluster), e.g. 127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002';

export function checkUrl(url: unknown, spec: { source: string; protocols: readonly string[]; form: string }): void {
  const problem = urlProblem(url, spec.protocols);
  if (problem) throw new ConfigError(`${spec.source} is malformed (${problem}); expected ${spec.form}`);
}

export function urlProblem(url: unknown, protocols: readonly string[]): string | undefined {
  if (typeof url !== 'string' || url.length === 0) return `got ${describe(url)}`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `${JSON.stringify(redactUrl(url))} is not a URL`;
  }
  if (!protocols.includes(parsed.protocol)) return `scheme "${parsed.protocol.replace(/:$/, '')}" in ${JSON.stringify(redactUrl(url))} is not ${protocols.map((p) => p.replace(/:$/, '')).join(' or ')}`;
  if (!parsed.hostname) return `no host in ${JSON.stringify(redactUrl(url))}`;
  if (parsed.port !== '' && !(Number(parsed.port) > 0)) return `bad port in ${JSON.stringify(redactUrl(url))}`;
  return undefined;
}

/** Nodes of a Redis Cluster: `host:port` each (IPv6 in brackets), at least one, at most 100. */
/**
 * On a cluster only host:port of each node is used: a tier URL that carries credentials or TLS
 * (`rediss://user:secret@...`) would silently lose them and talk to the cluster unauthenticated
 * and in plain text. Refused instead, saying what to do.
 */
export function refuseDroppedAuth(url: unknown, where: { source: string; cluster: string }): void {
  if (typeof url !== 'string') return;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return;
  }
  if (parsed.username === '' && parsed.password === '' && parsed.protocol !== 'rediss:') return;
  throw new ConfigError(
    `${where.source} (${redactUrl(url)}) carries credentials or TLS, which a Redis Cluster set by ${where.cluster} would not use: ` +
      'the platform config takes no cluster credentials yet. Build the adapter in code (redisPubSub({ cluster, redisOptions: { username, password, tls } })), ' +
      'or leave the URL unset when the cluster needs no AUTH or TLS.',
  );
}

export function checkClusterNodes(value: unknown, source: string): { nodes: string[] } {
  const nodes = value !== null && typeof value === 'object' ? (value as { nodes?: unknown }).nodes : undefined;
  if (!Array.isArray(nodes) || nodes.length === 0 || nodes.length > 100) {
    throw new ConfigError(`${source} must list 1 to 100 nodes (got ${describe(nodes)}); expected ${CLUSTER_FORM}`);
  }
  for (const node of nodes) {
    const problem = clusterNodeProblem(node);
    if (problem) throw new ConfigError(`${source} is malformed (${problem}); expected ${CLUSTER_FORM}`);
  }
  return { nodes: [...(nodes as string[])] };
}

export function clusterNodeProblem(node: unknown): string | undefined {
  if (typeof node !== 'string') return `a node is ${describe(node)}`;
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(node);
  if (!match) return node.includes('://') ? `${JSON.stringify(redactUrl(node))} is a URL, not host:port` : `${JSON.stringify(node.slice(0, 100))} is not host:port`;
  const port = Number(match[2]);
  if (!(port >= 1 && port <= 65535)) return `bad port in ${JSON.stringify(node)}`;
  return undefined;
}

export function checkName(value: unknown, source: string): void {
  if (value !== undefined && (typeof value !== 'string' || !/^[A-Za-z0-9_.:-]{1,100}$/.test(value))) {
    throw new ConfigError(`${source} must be 1-100 letters, digits or _.:- (got ${describe(value)})`);
  }
}

export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}
