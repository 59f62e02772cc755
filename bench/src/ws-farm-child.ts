/**
 * The websocket client farm: a separate process holding N clients, so the bench process measures
 * what the server side costs (the farm takes the other core). It reports completions back over
 * IPC (coalesced per event-loop turn) and keeps its own latency samples; stamps are comparable
 * across processes (see clock.ts).
 */
import { WebSocket } from 'ws';
import { io, type Socket } from 'socket.io-client';
import { now } from './clock.js';
import { SampleStore } from './stats.js';
import type { FarmReply, FarmRequest } from './ws-farm.js';

const sockets: WebSocket[] = [];
const ioSockets: Socket[] = [];
let epoch = 0;
let completed = 0;
let samples = new SampleStore();
let flushScheduled = false;

function reply(message: FarmReply): void {
  process.send?.(message);
}

function flush(): void {
  flushScheduled = false;
  reply({ type: 'progress', epoch, completed });
}

/** Finds the bench payload ({ t, pad }) wherever the protocol nests it. */
function findStamp(value: unknown, depth = 0): number | undefined {
  if (value === null || typeof value !== 'object' || depth > 4) return undefined;
  const record = value as Record<string, unknown>;
  if (typeof record.t === 'number' && typeof record.pad === 'string') return record.t;
  for (const key in record) {
    const found = findStamp(record[key], depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

function onData(data: WebSocket.RawData): boolean {
  const stamp = findStamp(JSON.parse(data.toString()));
  if (stamp === undefined) return false;
  hitStamp(stamp);
  return true;
}

function hitStamp(stamp: number): void {
  samples.add(now() - stamp);
  completed += 1;
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flush);
  }
}

/** A socket.io client on the websocket transport; the server joins it to the room on connection. */
function connectSocketIo(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = io(url, { transports: ['websocket'], forceNew: true, reconnection: false });
    ioSockets.push(socket);
    socket.on('msg', (payload: unknown) => {
      const stamp = findStamp(payload);
      if (stamp !== undefined) hitStamp(stamp);
    });
    socket.once('connect', () => resolve());
    socket.once('connect_error', (error) => reject(error));
  });
}

function connectOne(url: string, subscribeFrame: string | undefined, ackMatch: string | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { perMessageDeflate: false });
    sockets.push(socket);
    let ready = false;
    socket.on('error', (error) => {
      if (!ready) reject(error);
    });
    socket.on('open', () => {
      if (subscribeFrame === undefined) {
        ready = true;
        resolve();
      } else {
        socket.send(subscribeFrame);
        if (ackMatch === undefined) {
          ready = true;
          resolve();
        }
      }
    });
    socket.on('message', (data) => {
      if (onData(data) || ready) return;
      if (ackMatch !== undefined && data.toString().includes(ackMatch)) {
        ready = true;
        resolve();
      }
    });
  });
}

process.on('message', (message: FarmRequest) => {
  void (async () => {
    try {
      if (message.type === 'connect') {
        for (let start = 0; start < message.clients; start += 250) {
          const batch = Math.min(250, message.clients - start);
          const urls = message.urls ?? [message.url];
          await Promise.all(
            Array.from({ length: batch }, (_, k) => {
              const url = urls[(start + k) % urls.length]!;
              return message.kind === 'socket.io' ? connectSocketIo(url) : connectOne(url, message.subscribeFrame, message.ackMatch);
            }),
          );
        }
        reply({ type: 'ready' });
      } else if (message.type === 'reset') {
        epoch = message.epoch;
        completed = 0;
        samples = new SampleStore();
        reply({ type: 'reset-ok', epoch });
      } else if (message.type === 'drop') {
        for (const socket of sockets.splice(0)) socket.terminate();
        for (const socket of ioSockets.splice(0)) socket.disconnect();
        reply({ type: 'dropped' });
      } else if (message.type === 'summary') {
        reply({ type: 'summary', epoch, completed, latencyMs: samples.summary() });
      } else if (message.type === 'samples') {
        // Strided down to 100,000 values, so the IPC message stays a few MB.
        const kept = samples.kept();
        const stride = Math.max(1, Math.ceil(kept.length / 100_000));
        reply({ type: 'samples', epoch, completed, max: samples.summary().max, values: kept.filter((_, k) => k % stride === 0) });
      } else {
        for (const socket of sockets) socket.terminate();
        process.exit(0);
      }
    } catch (error) {
      reply({ type: 'error', message: error instanceof Error ? error.message : String(error) });
    }
  })();
});
process.on('disconnect', () => process.exit(0));
