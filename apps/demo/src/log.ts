/**
 * One-line logs with the context in front, so the story reads top to bottom in a terminal:
 *   13:02:11.204 [users] signup ada@example.com (tenant acme) -> user 0193...
 *
 * Lines carry values from outside (emails, payloads from a shared broker): control characters are
 * escaped (`\u001b`), so no value can forge a log line or send escape sequences to a terminal.
 */
import { escapeControl } from '@events/dashboard/http';

export type Logger = (line: string) => void;

export interface LogOptions {
  /** Process role shown after the time when several processes share one terminal. Default: none. */
  role?: string;
  /** Where lines go. Default: process.stdout. */
  write?: (text: string) => void;
}

export function createLogger(context: string, options: LogOptions = {}): Logger {
  const write = options.write ?? ((text: string) => void process.stdout.write(text));
  const role = options.role ? `${options.role} ` : '';
  return (line) => write(`${new Date().toISOString().slice(11, 23)} ${role}[${context}] ${escapeControl(line)}\n`);
}
