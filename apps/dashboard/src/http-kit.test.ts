import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { escapeControl, guardListener, hardenServer, HttpError, readJsonObject, sendJson } from './http-kit.js';

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function listen(s: Server): Promise<number> {
  server = s;
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return (s.address() as AddressInfo).port;
}

/** Writes `head` and `body` and reads until the server closes; `hold` keeps the write side open. */
function exchange(port: number, bytes: string, hold = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => (hold ? socket.write(bytes) : socket.end(bytes)));
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (text += d));
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
    socket.setTimeout(5000, () => socket.destroy(new Error('no answer within 5 s')));
  });
}

const bodyServer = (options: { maxBytes?: number; timeoutMs?: number }): Server =>
  createServer(
    guardListener(
      async (req, res) => sendJson(res, 200, await readJsonObject(req, options)),
      () => undefined,
    ),
  );

it('cuts a slow body at its deadline with 408 and closes the connection (slowloris)', async () => {
  const port = await listen(bodyServer({ timeoutMs: 200 }));
  const started = Date.now();
  const answer = await exchange(port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":', true);
  expect(answer).toMatch(/^HTTP\/1\.1 408 /);
  expect(answer.toLowerCase()).toContain('connection: close');
  expect(Date.now() - started).toBeLessThan(4000);
});

it('refuses a body past maxBytes with 413, by its declared length or as it streams', async () => {
  const port = await listen(bodyServer({ maxBytes: 1024 }));
  expect(await exchange(port, `POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n`)).toMatch(/^HTTP\/1\.1 413 /);
  const chunk = 'x'.repeat(600);
  const chunked = `POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${(600).toString(16)}\r\n${chunk}\r\n${(600).toString(16)}\r\n${chunk}\r\n0\r\n\r\n`;
  expect(await exchange(port, chunked)).toMatch(/^HTTP\/1\.1 413 /);
});

it('takes application/json only (415), and a JSON object only (400)', async () => {
  const port = await listen(bodyServer({}));
  const post = (type: string, body: string): Promise<string> => exchange(port, `POST / HTTP/1.1\r\nHost: x\r\nContent-Type: ${type}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
  expect(await post('text/plain', '{}')).toMatch(/^HTTP\/1\.1 415 /);
  expect(await post('application/jsonx', '{}')).toMatch(/^HTTP\/1\.1 415 /);
  expect(await post('application/json', '[1]')).toMatch(/^HTTP\/1\.1 400 /);
  expect(await post('application/json; charset=utf-8', '{"a":1}')).toMatch(/^HTTP\/1\.1 200 [\s\S]*\{"a":1\}/);
});

it('guards a listener: a throw or a rejection answers 500 without its message, and onError hears it; an HttpError answers its status', async () => {
  const heard: unknown[] = [];
  const port = await listen(
    createServer(
      guardListener(
        (req) => {
          if (req.url === '/sync') throw new Error('at /srv/app/secret.js');
          if (req.url === '/teapot') throw new HttpError(418, 'short and stout');
          return Promise.reject(new Error('async /srv/app/secret.js'));
        },
        (error) => heard.push(error),
      ),
    ),
  );
  for (const path of ['/sync', '/async']) {
    const answer = await exchange(port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 500 /);
    expect(answer).not.toContain('/srv/app');
  }
  expect(await exchange(port, 'GET /teapot HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).toMatch(/^HTTP\/1\.1 418 [\s\S]*short and stout/);
  expect(heard.map((e) => (e as Error).message)).toEqual(['at /srv/app/secret.js', 'async /srv/app/secret.js']);
});

it('hardenServer sets the limits and answers what Node cannot parse with 400, telling the callback', async () => {
  const heard: Error[] = [];
  const s = createServer((_req, res) => res.end('ok'));
  hardenServer(s, { onClientError: (e) => heard.push(e) });
  expect([s.headersTimeout, s.requestTimeout, s.keepAliveTimeout, s.maxHeadersCount, s.maxRequestsPerSocket]).toEqual([10_000, 30_000, 5_000, 100, 1_000]);
  const port = await listen(s);
  expect(await exchange(port, 'NOT HTTP AT ALL\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /);
  expect(heard).toHaveLength(1);
});

it('escapes control characters', () => {
  expect(escapeControl('a\u0000b\u001b[31m\r\n\u0085\u2028z')).toBe('a\\u0000b\\u001b[31m\\u000d\\u000a\\u0085\\u2028z');
});
