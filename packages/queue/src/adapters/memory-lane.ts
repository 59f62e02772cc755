/**
 * The memory adapter's state: one lane per job name (its jobs, the waiting heap, the finished
 * lists for retention, its consumers, the admin pause flag).
 */
import type { JobProgress, QueueAdapterActiveJob, QueueAdapterConsumeOptions, ResolvedJobOptions, StoredJobInfo } from '@events/core';
import type { WaitingHeap } from './memory-heap.js';

export interface MemoryJob {
  id: string;
  name: string;
  /** Stored as text, like Redis does, so a payload is a snapshot and bad data can be injected in tests. */
  raw: string;
  options: ResolvedJobOptions;
  state: StoredJobInfo['state'];
  attemptsMade: number;
  progress: JobProgress;
  result?: unknown;
  failedReason?: string;
  enqueuedAt: number;
  startedAt?: number;
  finishedAt?: number;
  /** A delayed job's run time. */
  runAt?: number;
  stack?: string;
  logs?: string[];
  seq: number;
  timer?: NodeJS.Timeout;
  /** The run that owns the job while active: a run given up at close cannot record its late outcome. */
  run?: object;
}

export type Handler = (job: QueueAdapterActiveJob) => Promise<unknown>;

export interface Consumer {
  handler: Handler;
  options: QueueAdapterConsumeOptions;
  active: Map<Promise<void>, MemoryJob>;
  starts: number[];
  closed: boolean;
  wake?: NodeJS.Timeout;
}

export interface Lane {
  jobs: Map<string, MemoryJob>;
  /** No job starts while true (admin pause). */
  paused: boolean;
  waiting: WaitingHeap<MemoryJob>;
  finished: { completed: string[]; failed: string[] };
  consumers: Consumer[];
}
