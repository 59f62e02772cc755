/**
 * `npm run dashboard` as a process: it binds 127.0.0.1, prints a login link with a random token,
 * answers 401 without it and 200 with it, and exits 0 on SIGTERM.
 */
import { fileURLToPath } from 'node:url';
import { spawnTs, waitFor } from '@events/testing';
import { afterAll, expect, it } from 'vitest';

const spawned = spawnTs('src/main.ts', [], {
  cwd: fileURLToPath(new URL('..', import.meta.url)),
  env: { PORT: '0', HOST: '', DASHBOARD_TOKEN: '', EVENTS_PUBSUB: '', EVENTS_BUS: '', EVENTS_QUEUE: '', NODE_OPTIONS: '--unhandled-rejections=strict' },
});
afterAll(() => {
  if (spawned.child.exitCode === null) spawned.child.kill('SIGKILL');
});

it('starts closed, with a login link, and stops on SIGTERM', async () => {
  let login = '';
  await waitFor(() => {
    login = /log in: (http:\/\/\S+\/login\?token=\S+)/.exec(spawned.output())?.[1] ?? '';
    return login !== '' || spawned.child.exitCode !== null;
  }, 30_000, 'the login link');
  expect(spawned.child.exitCode, spawned.output()).toBeNull();
  const url = new URL(login);
  expect(url.hostname).toBe('127.0.0.1');
  const api = `${url.origin}/dashboard/api/overview`;
  expect((await fetch(api)).status).toBe(401);
  expect((await fetch(api, { headers: { authorization: `Bearer ${url.searchParams.get('token')}` } })).status).toBe(200);
  const cookie = (await fetch(login, { redirect: 'manual' })).headers.get('set-cookie')!.split(';')[0]!;
  expect((await fetch(api, { headers: { cookie } })).status).toBe(200);
  spawned.child.kill('SIGTERM');
  expect((await spawned.exited).code).toBe(0);
});
