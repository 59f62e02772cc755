/**
 * The shutdown-signal rule every process of ours follows (the worker runner, the demo): the first
 * SIGTERM/SIGINT drains; the same signal again within `REPEAT_WINDOW_MS` is ignored, because
 * Ctrl-C sends SIGINT to the whole process group and a parent that forwards signals (npm, tsx, the
 * `events-worker` shim) delivers it a second time a moment later; a signal after the window means
 * "exit now".
 */

/** A second signal this soon after the first is the process group's echo, not a second request. */
export const REPEAT_WINDOW_MS = 1000;

export interface StopPolicy {
  /** Called once with the reason: begin draining. */
  drain(reason: string): void;
  /** Called on a real second request: exit now. */
  exitNow(reason: string): void;
  readonly now?: () => number;
}

/** The signal rule, apart from process so it can be tested: first = drain, echo ignored, later = exit now. */
export function createStopper(policy: StopPolicy): (reason: string) => void {
  const now = policy.now ?? Date.now;
  let firstAt: number | undefined;
  return (reason) => {
    if (firstAt === undefined) {
      firstAt = now();
      policy.drain(reason);
      return;
    }
    if (now() - firstAt < REPEAT_WINDOW_MS) return;
    policy.exitNow(reason);
  };
}
