/**
 * The BullMQ `Queue` objects of the adapter, one per job name. Names this process writes to
 * (enqueue, process, schedule) get a queue for good. A name that is only read (`counts`, `getJob`,
 * dead-letter import) gets a read-only queue (`skipMetasUpdate`: it writes no `meta` key) from a
 * small LRU: reading 1,000 arbitrary names creates no Redis key and keeps at most `maxReaders`
 * objects.
 */
import { Queue } from 'bullmq';
import type { RedisClient } from './bullmq-connection.js';
import { keyLayout, type KeyLayout } from './bullmq-keys.js';

const single = keyLayout('', false);

/** BullMQ queue name for a job name on one Redis (`:` is refused by BullMQ in queue names). On a cluster, see `KeyLayout.queueName`. */
export function bullmqQueueName(jobName: string): string {
  return single.queueName(jobName);
}

export class QueueObjects {
  private readonly writers = new Map<string, Queue>();
  private readonly readers = new Map<string, Queue>();

  constructor(
    private readonly connection: () => RedisClient,
    private readonly layout: KeyLayout,
    private readonly maxReaders: number,
  ) {}

  get counts(): { queues: number; readers: number } {
    return { queues: this.writers.size, readers: this.readers.size };
  }

  /** The queue of a name this process writes to. */
  writer(name: string): Queue {
    let q = this.writers.get(name);
    if (!q) {
      const reader = this.readers.get(name);
      if (reader) {
        this.readers.delete(name);
        void reader.close().catch(() => undefined);
      }
      q = this.make(name, false);
      this.writers.set(name, q);
    }
    return q;
  }

  /** A queue to read a name with: the writer if there is one, else a read-only one (LRU). */
  reader(name: string): Queue {
    const writer = this.writers.get(name);
    if (writer) return writer;
    let q = this.readers.get(name);
    if (q) {
      // Most recently used last.
      this.readers.delete(name);
      this.readers.set(name, q);
      return q;
    }
    q = this.make(name, true);
    this.readers.set(name, q);
    while (this.readers.size > this.maxReaders) {
      const [oldest, evicted] = this.readers.entries().next().value as [string, Queue];
      this.readers.delete(oldest);
      void evicted.close().catch(() => undefined);
    }
    return q;
  }

  private make(name: string, readOnly: boolean): Queue {
    const q = new Queue(this.layout.queueName(name), { connection: this.connection(), prefix: this.layout.prefix, ...(readOnly ? { skipMetasUpdate: true } : {}) });
    // Without a listener an EventEmitter 'error' (Redis away) would crash the process; the
    // connection's own listener reports it.
    q.on('error', () => undefined);
    return q;
  }

  async close(): Promise<void> {
    const all = [...this.writers.values(), ...this.readers.values()];
    this.writers.clear();
    this.readers.clear();
    await Promise.all(all.map((q) => q.close().catch(() => undefined)));
  }
}
