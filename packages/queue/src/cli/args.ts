/** A tiny `--flag value` / `--switch` parser for the CLI (no dependency needed for this much). */
import { InvalidOptionError } from '@events/core';

export interface ParsedArgs {
  positional: string[];
  flags: Map<string, string | true>;
}

const SWITCHES = new Set(['dry-run', 'keep', 'json', 'help']);

export function parseArgs(argv: readonly string[]): ParsedArgs {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const [key, inline] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    if (inline !== undefined) flags.set(key, inline);
    else if (SWITCHES.has(key)) flags.set(key, true);
    else {
      const value = argv[i + 1];
      if (value === undefined) throw new InvalidOptionError(`--${key}`, 'needs a value');
      flags.set(key, value);
      i += 1;
    }
  }
  return { positional, flags };
}

export function flag(args: ParsedArgs, key: string): string | undefined {
  const v = args.flags.get(key);
  return typeof v === 'string' ? v : undefined;
}

export function numberFlag(args: ParsedArgs, key: string): number | undefined {
  const v = flag(args, key);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidOptionError(`--${key}`, `must be a number, got ${JSON.stringify(v)}`);
  return n;
}

export function dateFlag(args: ParsedArgs, key: string): Date | undefined {
  const v = flag(args, key);
  if (v === undefined) return undefined;
  const d = /^\d+$/.test(v) ? new Date(Number(v)) : new Date(v);
  if (Number.isNaN(d.getTime())) throw new InvalidOptionError(`--${key}`, `must be an ISO date or epoch ms, got ${JSON.stringify(v)}`);
  return d;
}
