/**
 * The client's presence requests waiting for the gateway's answer: at most `max` at once, each
 * with a deadline; settled by the `presence` (or `error`) frame with the same id, by the deadline,
 * or all at once when the connection drops or the client closes. Imports no value (it runs in
 * browsers as it is).
 */
import type { PresenceMember } from '../websocket/protocol.js';

/** Who is on a channel, as the gateway answered (see the `presence` frame). */
export interface ClientPresenceSnapshot {
  readonly channel: string;
  readonly members: readonly PresenceMember[];
  readonly total: number;
  readonly truncated: boolean;
}

/** A member came or went (subscriptions made with `presenceEvents: true`). */
export interface ClientPresenceEvent {
  readonly topic: string;
  readonly channel: string;
  readonly member: PresenceMember;
  /** On a leave: `left` or `expired`. */
  readonly reason?: string;
}

interface Pending {
  readonly resolve: (snapshot: ClientPresenceSnapshot) => void;
  readonly reject: (error: Error) => void;
  readonly deadline: ReturnType<typeof setTimeout>;
}

export class PendingPresence {
  private readonly pending = new Map<string | number, Pending>();

  constructor(private readonly max: number) {}

  get size(): number {
    return this.pending.size;
  }

  hasRoom(): boolean {
    return this.pending.size < this.max;
  }

  wait(id: string | number, timeoutMs: number, onTimeout: () => Error): Promise<ClientPresenceSnapshot> {
    return new Promise<ClientPresenceSnapshot>((resolve, reject) => {
      const deadline = setTimeout(() => this.reject(id, onTimeout()), timeoutMs);
      this.pending.set(id, { resolve, reject, deadline });
    });
  }

  resolve(id: string | number, snapshot: ClientPresenceSnapshot): boolean {
    const entry = this.take(id);
    entry?.resolve(snapshot);
    return entry !== undefined;
  }

  reject(id: string | number, error: Error): boolean {
    const entry = this.take(id);
    entry?.reject(error);
    return entry !== undefined;
  }

  rejectAll(error: Error): void {
    for (const id of [...this.pending.keys()]) this.reject(id, error);
  }

  private take(id: string | number): Pending | undefined {
    const entry = this.pending.get(id);
    if (entry === undefined) return undefined;
    clearTimeout(entry.deadline);
    this.pending.delete(id);
    return entry;
  }
}
