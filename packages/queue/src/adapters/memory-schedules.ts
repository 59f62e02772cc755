/**
 * The memory adapter's schedules: `every` on an interval, `cron` on a timer set for the next
 * matching second (no polling), re-armed after each fire.
 */
import type { ScheduleSpec } from '@events/core';
import { nextCronTime } from '../cron.js';

/** setTimeout's longest delay; a later fire time is reached in steps. */
const MAX_TIMER_MS = 2_147_483_647;

export class MemorySchedules {
  private readonly timers = new Map<string, { cancel(): void }>();

  /** `fire(at)` stores one job for the fire time `at` (epoch ms). */
  add(key: string, spec: ScheduleSpec, fire: (at: number) => void): void {
    this.remove(key);
    if (spec.every !== undefined) {
      fire(Date.now());
      const timer = setInterval(() => fire(Date.now()), spec.every);
      timer.unref();
      this.timers.set(key, { cancel: () => clearInterval(timer) });
      return;
    }
    const pattern = spec.cron ?? '';
    nextCronTime(pattern, Date.now()); // refuses a bad pattern at the call site
    let timer: NodeJS.Timeout | undefined;
    let cancelled = false;
    const arm = (after: number): void => {
      const at = nextCronTime(pattern, after);
      if (at === undefined || cancelled) return;
      const wait = (): void => {
        const left = at - Date.now();
        if (left > 0) {
          timer = setTimeout(wait, Math.min(left, MAX_TIMER_MS));
          timer.unref();
          return;
        }
        fire(at);
        arm(at);
      };
      wait();
    };
    arm(Date.now());
    this.timers.set(key, {
      cancel: () => {
        cancelled = true;
        clearTimeout(timer);
      },
    });
  }

  remove(key: string): boolean {
    const entry = this.timers.get(key);
    if (!entry) return false;
    entry.cancel();
    this.timers.delete(key);
    return true;
  }

  clear(): void {
    for (const entry of this.timers.values()) entry.cancel();
    this.timers.clear();
  }
}
