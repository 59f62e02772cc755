/**
 * SIGTERM/SIGINT handling shared by the demo's processes, by core's stopper rule: the first signal
 * drains and exits 0 (1 if closing failed); the echo of Ctrl-C that npm and tsx forward within a
 * second is ignored, so Ctrl-C drains; a signal after that exits at once.
 * The telemetry (the last spans, the meter) is flushed after the drain, so the drain's own spans
 * are exported too, within TELEMETRY_SHUTDOWN_MS.
 */
import { createStopper } from '@events/core';
import type { Logger } from './log.js';
import { TELEMETRY_SHUTDOWN_MS, type DemoTelemetry } from './telemetry.js';

export interface ExitOptions {
  /** The telemetry to flush and stop after the drain (a getter: it starts after the handler is installed). Default: none. */
  telemetry?: () => DemoTelemetry | undefined;
}

export function exitOnSignal(close: () => Promise<void>, log: Logger, options: ExitOptions = {}): void {
  const flush = async (): Promise<void> => {
    await options.telemetry?.()?.shutdown(TELEMETRY_SHUTDOWN_MS);
  };
  const stop = createStopper({
    drain(signal) {
      log(`${signal}: draining, then exiting (send it again to exit at once)`);
      close().then(
        () => flush().finally(() => process.exit(0)),
        (error: unknown) => {
          log(`shutdown failed: ${error instanceof Error ? error.message : String(error)}`);
          void flush().finally(() => process.exit(1));
        },
      );
    },
    exitNow(signal) {
      log(`second ${signal}: exiting now`);
      process.exit(1);
    },
  });
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/** Prints a configuration problem as one readable line, without a stack trace, and exits 1. */
export function exitOnStartError(error: unknown, log: Logger): never {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'CONFIG') log(`cannot start: ${(error as Error).message}`);
  else {
    log(`cannot start: ${error instanceof Error ? error.message : String(error)}`);
    // The stack goes out as it is: the logger would escape its line breaks into one long line.
    if (error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  }
  process.exit(1);
}
