#!/usr/bin/env node
// Runs the built CLI when the package is built; in the monorepo (no dist) it runs the TypeScript
// source through tsx with the workspace's "@events/source" condition, forwarding signals. The
// child also gets an IPC channel: when this process dies (even by SIGKILL) the channel closes and
// the worker drains and exits instead of consuming jobs on its own. A signal the child already got
// from the process group (Ctrl-C) arrives twice; the runner ignores the echo.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dist = new URL('../dist/cli/main.js', import.meta.url);
if (existsSync(fileURLToPath(dist))) {
  await import(dist.href);
} else {
  const source = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@events/source', source, ...process.argv.slice(2)], { stdio: ['inherit', 'inherit', 'inherit', 'ipc'] });
  for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}
