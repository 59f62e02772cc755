/**
 * Requests of the client waiting for the gateway's answer (publishes, presence requests): at most
 * `max` at once, each with a deadline. Settled by the answer frame with the same id, by the
 * deadline, or all at once when the connection drops or the client closes. Imports no value (it
 * runs in browsers as it is).
 */

interface Pending<T> {
  readonly resolve: (answer: T) => void;
  readonly reject: (error: Error) => void;
  readonly deadline: ReturnType<typeof setTimeout>;
}

export class PendingAnswers<T> {
  private readonly pending = new Map<string | number, Pending<T>>();

  constructor(private readonly max: number) {}

  get size(): number {
    return this.pending.size;
  }

  /** False when `max` requests already wait: the caller refuses this one without sending it. */
  hasRoom(): boolean {
    return this.pending.size < this.max;
  }

  /** Waits for the answer to request `id`; `onTimeout` makes the error past `timeoutMs`. */
  wait(id: string | number, timeoutMs: number, onTimeout: () => Error): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const deadline = setTimeout(() => this.reject(id, onTimeout()), timeoutMs);
      this.pending.set(id, { resolve, reject, deadline });
    });
  }

  /** True when `id` was a waiting request (now resolved). */
  resolve(id: string | number, answer: T): boolean {
    const entry = this.take(id);
    entry?.resolve(answer);
    return entry !== undefined;
  }

  /** True when `id` was a waiting request (now rejected). */
  reject(id: string | number, error: Error): boolean {
    const entry = this.take(id);
    entry?.reject(error);
    return entry !== undefined;
  }

  rejectAll(error: Error): void {
    for (const id of [...this.pending.keys()]) this.reject(id, error);
  }

  private take(id: string | number): Pending<T> | undefined {
    const entry = this.pending.get(id);
    if (entry === undefined) return undefined;
    clearTimeout(entry.deadline);
    this.pending.delete(id);
    return entry;
  }
}
