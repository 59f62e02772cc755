/**
 * What each row costs outside the loop: peak RSS of this process, and the CPU the broker spent
 * during the measured phase (Redis from INFO, RabbitMQ from /proc of its beam.smp), which is how
 * BENCHMARKS.md can say whether a figure is limited by Node or by the broker.
 */
import { readdir, readFile } from 'node:fs/promises';
import { Redis } from 'ioredis';

export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const AMQP_URL = process.env.BENCH_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** Samples `rss` every 20 ms; `peak` is the largest seen (a floor for the true peak). */
export function sampleRss(): { stop(): number } {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    const rss = process.memoryUsage.rss();
    if (rss > peak) peak = rss;
  }, 20);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage.rss());
    },
  };
}

/** Peak RSS of this whole process from getrusage (kernel-tracked, exact), in bytes. */
export function processPeakRss(): number {
  return process.resourceUsage().maxRSS * 1024;
}

export type Broker = 'redis' | 'rabbitmq';

/** Returns a function that gives the broker's CPU seconds used since the probe started. */
export async function brokerCpuProbe(broker: Broker): Promise<() => Promise<number | undefined>> {
  if (broker === 'redis') {
    const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    const read = async (): Promise<number> => {
      const info = await redis.info('cpu');
      const field = (name: string): number => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
      return field('used_cpu_sys') + field('used_cpu_user');
    };
    const before = await read();
    return async () => {
      try {
        return (await read()) - before;
      } finally {
        redis.disconnect();
      }
    };
  }
  const pids = await beamPids();
  const before = await ticksOf(pids);
  return async () => {
    if (pids.length === 0) return undefined;
    return ((await ticksOf(pids)) - before) / 100; // USER_HZ is 100 on Linux.
  };
}

async function beamPids(): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const comm = (await readFile(`/proc/${entry}/comm`, 'utf8')).trim();
      if (comm.startsWith('beam')) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

async function ticksOf(pids: number[]): Promise<number> {
  let total = 0;
  for (const pid of pids) {
    try {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += Number(fields[11]) + Number(fields[12]);
    } catch {
      // Gone: count nothing.
    }
  }
  return total;
}
