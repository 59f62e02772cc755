/**
 * Job events, as a small typed emitter. Listeners run synchronously in the process that ran the
 * job (BullMQ adapter: the worker process); one throwing listener does not stop the others.
 */
import type { JobProgress } from '@events/core';

export interface CompletedEvent {
  readonly id: string;
  readonly name: string;
  readonly attempt: number;
  readonly result: unknown;
}

export interface FailedEvent {
  readonly id: string;
  readonly name: string;
  readonly attempt: number;
  readonly error: Error;
  /** True when no attempt is left: the job is now a dead letter. */
  readonly final: boolean;
}

export interface ProgressEvent {
  readonly id: string;
  readonly name: string;
  readonly progress: JobProgress;
}

export interface QueueEventMap {
  completed: CompletedEvent;
  failed: FailedEvent;
  progress: ProgressEvent;
}

export type QueueEventName = keyof QueueEventMap;

export class JobEvents {
  private readonly listeners = new Map<QueueEventName, Set<(event: never) => void>>();

  constructor(private readonly onError: (error: Error) => void) {}

  on<E extends QueueEventName>(event: E, listener: (event: QueueEventMap[E]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as (event: never) => void);
    return () => {
      set.delete(listener as (event: never) => void);
    };
  }

  /** Whether anyone listens to `event` (the caller can skip building its payload). */
  listening(event: QueueEventName): boolean {
    return (this.listeners.get(event)?.size ?? 0) > 0;
  }

  emit<E extends QueueEventName>(event: E, payload: QueueEventMap[E]): void {
    for (const listener of this.listeners.get(event) ?? []) {
      try {
        (listener as (event: QueueEventMap[E]) => void)(payload);
      } catch (err) {
        this.onError(err instanceof Error ? err : new Error(String(err)));
      }
    }
  }

  clear(): void {
    this.listeners.clear();
  }
}
