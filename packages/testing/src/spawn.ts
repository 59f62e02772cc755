import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';

export interface SpawnTsOptions {
  cwd?: string;
  /** Added to this process's environment. */
  env?: Record<string, string>;
  /** Default: stdin ignored, stdout and stderr piped (and recorded). */
  stdio?: StdioOptions;
  /** Its own process group, so `process.kill(-pid)` reaches whatever it starts too. */
  detached?: boolean;
}

export interface SpawnedTs {
  child: ChildProcess;
  /** stdout and stderr as they arrived, interleaved. */
  output(): string;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Runs a TypeScript file in a child `node` the way the workspace scripts run it: tsx strips the
 * types and the "@events/source" condition resolves workspace imports to their sources, no build.
 */
export function spawnTs(file: string, args: readonly string[] = [], options: SpawnTsOptions = {}): SpawnedTs {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@events/source', file, ...args], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: options.stdio ?? ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  const text = { output: '', stdout: '', stderr: '' };
  child.stdout?.on('data', (d: Buffer) => {
    text.stdout += d.toString();
    text.output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    text.stderr += d.toString();
    text.output += d.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, output: () => text.output, stdout: () => text.stdout, stderr: () => text.stderr, exited };
}

/**
 * Runs a TypeScript fixture under `--unhandled-rejections=strict` and resolves with what the
 * assertions of the "no unhandled rejection" tests look at: the exit code, stdout and stderr.
 */
export async function runStrict(path: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawnTs(path, [], { env: { NODE_OPTIONS: '--unhandled-rejections=strict' } });
  const { code } = await proc.exited;
  return { code, stdout: proc.stdout(), stderr: proc.stderr() };
}
