/**
 * The worker queue adapter seam (owned by @events/queue). Attempts, backoff, dead letters and
 * replay are semantics both adapters share; see @events/queue for the full contract.
 */

export interface QueueAdapterInfo {
  /** Adapter kind, for diagnostics: `memory`, `bullmq`. */
  readonly kind: string;
}
