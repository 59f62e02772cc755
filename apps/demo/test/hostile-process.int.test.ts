/**
 * The demo as its users run it (`src/main.ts` as a child process) under
 * `node --unhandled-rejections=strict`, so one unhandled rejection anywhere ends it, and under
 * hostile HTTP traffic: request lines that are not URLs (on the API, the dashboard and the
 * websocket upgrade path), garbage, lying lengths, a slow body, plain-form signups, floods of
 * job names, and a fast-check sample of hostile requests. It must still be alive and serving.
 */
import { fileURLToPath } from 'node:url';
import { hostileRequest, sendRaw, wellFormedRequest } from '@events/dashboard/hostile-http';
import { randomId, spawnTs, waitFor } from '@events/testing';
import fc from 'fast-check';
import { afterAll, expect, it } from 'vitest';

const DEMO_DIR = fileURLToPath(new URL('..', import.meta.url));
const spawned = spawnTs('src/main.ts', [], {
  cwd: DEMO_DIR,
  env: { PORT: '0', DEMO_FAILURE_RATE: '0', DEMO_SEND_MS: '0', EVENTS_PUBSUB: '', EVENTS_BUS: '', EVENTS_QUEUE: '', HOST: '', NODE_OPTIONS: '--unhandled-rejections=strict' },
});
afterAll(async () => {
  if (spawned.child.exitCode === null) {
    spawned.child.kill('SIGTERM');
    await spawned.exited;
  }
});

it('stays alive and serving under hostile HTTP traffic', { timeout: 60_000 }, async () => {
  let url = '';
  let loginUrl = '';
  await waitFor(() => {
    const out = spawned.output();
    url = /open (http:\/\/[^/\s]+)\//.exec(out)?.[1] ?? '';
    loginUrl = /dashboard: (http:\/\/\S+\/login\?token=\S+)/.exec(out)?.[1] ?? '';
    return (url !== '' && loginUrl !== '') || spawned.child.exitCode !== null;
  }, 30_000, 'the demo to print its URL and login link');
  expect(spawned.child.exitCode, spawned.output()).toBeNull();
  // With no HOST, the demo binds loopback only.
  expect(new URL(url).hostname).toBe('127.0.0.1');
  const host = new URL(url).host;
  const token = decodeURIComponent(new URL(loginUrl).searchParams.get('token')!);

  const crafted = [
    `GET http://[ HTTP/1.1\r\nHost: ${host}\r\n\r\n`,
    `GET http://[ HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${token}\r\n\r\n`,
    `GET http://[ HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
    `GET //[/pubsub HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
    `GET /pubsub?tenant=%E0%A4%A HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
    `POST http://[ HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`,
    `GET /dashboard/api/dead-letters/%E0%A4%A HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${token}\r\n\r\n`,
    `GET /dashboard/api/queues?jobs=${Array.from({ length: 50 }, (_, i) => `j${i}x${randomId('n').replaceAll('-', '')}`).join(',')} HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${token}\r\n\r\n`,
    `POST /api/signup HTTP/1.1\r\nHost: ${host}\r\nContent-Type: text/plain\r\nContent-Length: 45\r\n\r\n{"email":"csrf@example.com","tenant":"acme"}`,
    `POST /api/signup HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: 999999\r\n\r\n{`,
    'GARBAGE\r\n\r\n',
    '\u0000\u0001\u0002\r\n\r\n',
  ];
  for (const bytes of crafted) {
    const answer = await sendRaw(url, bytes, { waitMs: 1500 });
    // Refused (4xx or closed), answered (the name flood: 200 with every name unknown), or a websocket
    // whose tenant is unknown and may subscribe to nothing; never a server fault.
    expect(answer.status === undefined || answer.status < 500, `${JSON.stringify(bytes.slice(0, 60))} -> ${answer.text.slice(0, 100)}`).toBe(true);
  }
  // A slow body, left hanging while the rest goes on.
  const slow = sendRaw(url, `POST /api/signup HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"email":`, { waitMs: 8000, hold: true });

  await fc.assert(fc.asyncProperty(fc.oneof(hostileRequest({ host, bearer: token }), wellFormedRequest({ host, bearer: token })), async (bytes) => void (await sendRaw(url, bytes, { waitMs: 1500 }))), { numRuns: 200 });

  expect(spawned.child.exitCode, spawned.output()).toBeNull();
  const signup = await fetch(`${url}/api/signup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'alive@example.com', tenant: randomId('t') }) });
  expect(signup.status).toBe(201);
  expect((await fetch(`${url}/healthz`)).status).toBe(200);
  expect((await fetch(`${url}/dashboard/api/overview`)).status).toBe(401);
  expect((await fetch(`${url}/dashboard/api/overview`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
  // The slow body was cut at the demo's 5 s body deadline with 408, not left open.
  expect((await slow).status).toBe(408);
  expect(spawned.output()).not.toMatch(/Unhandled|uncaught|TypeError: Invalid URL/i);
});
