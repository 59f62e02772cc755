/**
 * One clock for every stamp: process.hrtime is CLOCK_MONOTONIC on Linux, shared by every process
 * on the machine, so a stamp taken in the bench process can be compared with `now()` in the
 * websocket client farm (another process). Milliseconds as a double keep sub-microsecond detail.
 */
export function now(): number {
  const [s, ns] = process.hrtime();
  return s * 1e3 + ns / 1e6;
}
