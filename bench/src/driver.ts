/**
 * The load loop every row shares, so ours and raw are driven the same way: send as fast as the
 * transport takes it, but never more than `window` messages ahead of what has completed (so
 * latency measures the path, not an unbounded backlog), stop at `maxMs`, and give up when nothing
 * completes for `stallMs` (so a row always ends by itself).
 */
import { now } from './clock.js';
import { SampleStore, type LatencySummary } from './stats.js';

export interface DriveSettings {
  /** Messages in the measured phase (the loop may stop earlier at `maxMs`). */
  messages: number;
  /** Messages sent first through the same path and not measured (JIT, connections, buffers). */
  warmup: number;
  /** The warm-up phase stops sending after this long. */
  warmupMs: number;
  /** Most messages sent but not yet completed. */
  window: number;
  /** Stop sending after this long in the measured phase. */
  maxMs: number;
  /** End the phase when no message completes for this long. */
  stallMs: number;
}

export interface DriveSpec {
  /** Completions each message produces: subscribers, websocket clients, consumer groups. Default 1. */
  fanout?: number;
  /** Messages one `send` call carries (addBulk). Default 1. */
  batch?: number;
  /**
   * `delivery`: handlers call `recorder.hit(stamp)`; latency is send -> handler.
   * `ack`: the promise `send` returns completes the message(s); latency is send -> resolved.
   */
  complete: 'delivery' | 'ack';
  send(stamp: number, index: number): void | Promise<unknown>;
  /** Runs before each phase (warm-up, then measured), e.g. to reset counters kept elsewhere. */
  beforePhase?(measured: boolean): Promise<void>;
}

export interface PhaseResult {
  sent: number;
  expected: number;
  completed: number;
  elapsedMs: number;
  /** Completions per second (deliveries for fan-out rows, jobs for queue rows). */
  perSecond: number;
  latencyMs: LatencySummary;
  /** CPU time this process used during the phase, as a share of one core (1 = one full core). */
  cpuCores: number;
  /** CPU time of this process per completion, in microseconds: steadier than msg/s on a busy machine. */
  cpuUsPerMsg: number;
  /** Wall time of the phase, from first send to the end of the final wait. */
  wallMs: number;
  stalled: boolean;
  /** CPU of the broker during the phase, in cores (set by RowContext.measure). */
  brokerCpuCores?: number;
}

/** Counts completions; handlers call `hit` with the stamp the message was sent with. */
export class Recorder {
  completed = 0;
  samples = new SampleStore();
  lastHitAt = 0;
  stalled = false;
  error: unknown;
  private target = Number.POSITIVE_INFINITY;
  private wake: (() => void) | undefined;

  hit(stamp: number): void {
    const at = now();
    this.samples.add(at - stamp);
    this.completed += 1;
    this.lastHitAt = at;
    if (this.completed >= this.target) this.release();
  }

  hitMany(stamp: number, count: number): void {
    const at = now();
    for (let k = 0; k < count; k += 1) this.samples.add(at - stamp);
    this.completed += count;
    this.lastHitAt = at;
    if (this.completed >= this.target) this.release();
  }

  /** For completions counted elsewhere (the websocket client farm reports totals and samples). */
  setCompleted(total: number): void {
    if (total > this.completed) {
      this.completed = total;
      this.lastHitAt = now();
    }
    if (this.completed >= this.target) this.release();
  }

  fail(error: unknown): void {
    this.error ??= error;
    this.release();
  }

  reset(): void {
    this.completed = 0;
    this.samples = new SampleStore();
    this.lastHitAt = 0;
    this.stalled = false;
  }

  /** Resolves once `completed >= target`, on failure, or when nothing moves for `stallMs`. */
  async until(target: number, stallMs: number): Promise<void> {
    if (this.completed >= target || this.error !== undefined) return;
    this.target = target;
    let seen = this.completed;
    let lastMove = now();
    const watchdog = setInterval(() => {
      if (this.completed !== seen) {
        seen = this.completed;
        lastMove = now();
      } else if (now() - lastMove > stallMs) {
        this.stalled = true;
        this.release();
      }
    }, Math.min(100, Math.max(10, stallMs / 4)));
    try {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    } finally {
      clearInterval(watchdog);
    }
  }

  private release(): void {
    this.target = Number.POSITIVE_INFINITY;
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

/** Promise-returning sends between two yields to the microtask queue. */
const YIELD_EVERY = 256;

async function phase(
  rec: Recorder,
  spec: DriveSpec,
  limits: { messages: number; window: number; maxMs: number; stallMs: number },
  measured: boolean,
): Promise<PhaseResult> {
  const fanout = spec.fanout ?? 1;
  const batch = spec.batch ?? 1;
  const window = Math.max(limits.window, batch);
  await spec.beforePhase?.(measured);
  rec.reset();
  const cpuBefore = process.cpuUsage();
  const start = now();
  rec.lastHitAt = start;
  let sent = 0;
  let loops = 0;
  let unsettled = 0;
  while (sent < limits.messages && rec.error === undefined && !rec.stalled) {
    // The clock costs about as much as an in-memory emit: look at it every 32 sends only.
    if ((loops++ & 31) === 0 && now() - start >= limits.maxMs) break;
    if (sent + batch - rec.completed / fanout > window) {
      await rec.until(Math.ceil((sent + batch - window) * fanout), limits.stallMs);
      continue;
    }
    const stamp = now();
    const result = spec.send(stamp, sent);
    sent += batch;
    if (result !== undefined) {
      if (spec.complete === 'ack') {
        result.then(() => rec.hitMany(stamp, batch), (error: unknown) => rec.fail(error));
      } else {
        result.then(undefined, (error: unknown) => rec.fail(error));
      }
      // A transport that completes within `send` (memory) never fills the window, so the loop
      // would never yield and every promise it was handed would wait, and pile up, until the
      // phase ends. Let them settle as an application's event loop would.
      if (++unsettled >= YIELD_EVERY) {
        unsettled = 0;
        await Promise.resolve();
      }
    }
  }
  await rec.until(sent * fanout, limits.stallMs);
  if (rec.error !== undefined) throw rec.error;
  const cpu = process.cpuUsage(cpuBefore);
  const elapsedMs = Math.max(rec.lastHitAt - start, 1e-3);
  const wallMs = now() - start;
  return {
    sent,
    expected: sent * fanout,
    completed: rec.completed,
    elapsedMs,
    perSecond: (rec.completed / elapsedMs) * 1000,
    latencyMs: rec.samples.summary(),
    cpuCores: (cpu.user + cpu.system) / 1000 / wallMs,
    cpuUsPerMsg: rec.completed > 0 ? (cpu.user + cpu.system) / rec.completed : Number.NaN,
    wallMs,
    stalled: rec.stalled,
  };
}

/** Warm-up phase (discarded), then the measured phase. */
export async function drive(rec: Recorder, spec: DriveSpec, settings: DriveSettings): Promise<PhaseResult> {
  if (settings.warmup > 0) {
    await phase(rec, spec, { ...settings, messages: settings.warmup, maxMs: settings.warmupMs }, false);
  }
  return phase(rec, spec, settings, true);
}
