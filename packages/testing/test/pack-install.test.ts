/**
 * The packages as a user gets them: `npm run pack` (tools/pack.mjs) packs every publishable
 * workspace from its built dist/, a fresh app in a temp dir outside the repo installs the tarballs
 * with npm (third-party dependencies from npm's cache, else the registry), its own tsc typechecks
 * and compiles pack-consumer/main.ts (strict, module and moduleResolution nodenext, library types
 * checked too), and plain node runs it on memory adapters, on Redis + RabbitMQ + BullMQ, and with
 * the queue on PostgreSQL. Needs a built dist/ (`npm ci` builds it; the pack step names what is
 * missing or stale).
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { deleteRabbitMqBusTopology } from '@events/bus/rabbitmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AMQP_URL, DATABASE_URL, REDIS_URL } from '../src/brokers.js';
import { dropSchema, randomSchema } from '../src/postgres.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const work = mkdtempSync(join(tmpdir(), 'events-pack-install-'));
const app = join(work, 'app');
const namespace = randomSchema('evpack');
const timings: string[] = [];
const PACKAGES = ['core', 'pubsub', 'bus', 'queue', 'platform', 'dashboard'];

/** The environment of a user's shell: none of the npm run variables of the `npm test` around us. */
const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key) && key !== 'NODE_OPTIONS'));
Object.assign(env, { REDIS_URL, AMQP_URL, DATABASE_URL });

function run(command: string, args: string[], options: { cwd: string; timeoutMs: number }): Promise<string> {
  const started = Date.now();
  return new Promise((done, fail) => {
    execFile(command, args, { cwd: options.cwd, env, timeout: options.timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      timings.push(`${[command, args[0]].join(' ')} ${((Date.now() - started) / 1000).toFixed(1)} s`);
      const why = error?.killed ? `was stopped after ${options.timeoutMs / 1000} s (a liveness bound; the machine may be overloaded)` : `failed: ${error?.message}`;
      if (error) fail(new Error(`${command} ${args.join(' ')} (in ${options.cwd}) ${why}\n${stdout}\n${stderr}`));
      else done(stdout);
    });
  });
}

function versionOf(pkg: string): string {
  return (JSON.parse(readFileSync(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
}

interface ConsumerResult {
  scenario: string;
  describe: string;
  notified: string[];
  deadLetters: number;
  replayable: number;
  dashboard: number;
}

async function consumer(scenario: string): Promise<ConsumerResult> {
  const stdout = await run(process.execPath, ['dist/main.js', scenario, namespace], { cwd: app, timeoutMs: 60_000 });
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`no RESULT line from the consumer (${scenario}):\n${stdout}`);
  return JSON.parse(line.slice('RESULT '.length)) as ConsumerResult;
}

beforeAll(async () => {
  expect(relative(ROOT, app).startsWith('..'), `the app dir ${app} must be outside the repo`).toBe(true);
  const tarballDir = join(work, 'tarballs');
  await run(process.execPath, [join(ROOT, 'tools/pack.mjs'), '--out', tarballDir], { cwd: ROOT, timeoutMs: 120_000 });
  const tarballs = PACKAGES.map((name) => join(tarballDir, `events-${name}-0.1.0.tgz`));
  mkdirSync(join(app, 'src'), { recursive: true });
  // msgpackr-extract (through bullmq) has an install script; it works from its prebuilt binaries.
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'pack-consumer', private: true, type: 'module', allowScripts: { 'msgpackr-extract': false } }));
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, types: ['node'], skipLibCheck: false, outDir: 'dist', rootDir: 'src' },
      include: ['src'],
    }),
  );
  for (const file of ['main.ts', 'subpaths.ts']) copyFileSync(join(import.meta.dirname, 'pack-consumer', file), join(app, 'src', file));
  const devTools = [`typescript@${versionOf('typescript')}`, `@types/node@${versionOf('@types/node')}`];
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', ...tarballs, ...devTools], { cwd: app, timeoutMs: 180_000 });
  await run(process.execPath, [join(app, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: app, timeoutMs: 180_000 });
}, 500_000);

afterAll(async () => {
  console.log(`[pack-install] ${timings.join(', ')}`);
  try {
    await deleteRabbitMqBusTopology({ url: AMQP_URL, exchange: namespace, subscriptions: [{ group: 'notifications', pattern: 'UserSignedUp' }] });
    const redis = new Redis(REDIS_URL);
    try {
      const keys = await redis.keys(`${namespace}:*`);
      if (keys.length > 0) await redis.del(...keys);
    } finally {
      redis.disconnect();
    }
    await dropSchema(namespace);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}, 30_000);

describe('the packed packages, installed in an app outside the monorepo', () => {
  it('install with npm: each package holds its dist, README, LICENSE (and bin, migrations, public where it has them), no sources or tests', () => {
    const extra: Record<string, string[]> = { queue: ['bin', 'migrations'], dashboard: ['public'] };
    for (const name of PACKAGES) {
      const dir = join(app, 'node_modules/@events', name);
      expect(readdirSync(dir).sort(), name).toEqual(['LICENSE', 'README.md', 'dist', 'package.json', ...(extra[name] ?? [])].sort());
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { exports: object };
      expect(JSON.stringify(manifest.exports)).not.toContain('@events/source');
      expect(JSON.stringify(manifest.exports)).not.toContain('/src/');
      expect(readdirSync(join(dir, 'dist'), { recursive: true }).filter((f) => String(f).includes('.test'))).toEqual([]);
    }
  });

  it('every export of every package loads in plain node, and each named subpath import resolves', async () => {
    // Each key of each installed package's "exports", imported by its public specifier.
    const script = `
      import { readFileSync } from 'node:fs';
      const loaded = {};
      for (const name of ${JSON.stringify(PACKAGES)}) {
        const { exports } = JSON.parse(readFileSync('node_modules/@events/' + name + '/package.json', 'utf8'));
        for (const key of Object.keys(exports)) {
          const specifier = '@events/' + name + key.slice(1);
          loaded[specifier] = Object.keys(await import(specifier)).length;
        }
      }
      loaded['./dist/subpaths.js'] = Object.keys(await import('./dist/subpaths.js')).length;
      console.log(JSON.stringify(loaded));`;
    const loaded = JSON.parse(await run(process.execPath, ['--input-type=module', '-e', script], { cwd: app, timeoutMs: 60_000 })) as Record<string, number>;
    expect(Object.keys(loaded)).toEqual(expect.arrayContaining(['@events/pubsub/redis', '@events/pubsub/client', '@events/bus/rabbitmq', '@events/queue/bullmq', '@events/queue/postgres', '@events/dashboard/http']));
    for (const [specifier, count] of Object.entries(loaded)) expect(count, specifier).toBeGreaterThan(0);
    expect(loaded['./dist/subpaths.js']).toBe(13);
  }, 65_000);

  it('run on memory adapters with plain node: event -> job -> notification, a poisoned job dead-lettered, the dashboard mounted', async () => {
    const result = await consumer('memory');
    expect(result).toEqual({ scenario: 'memory', describe: 'pubsub=memory bus=memory queue=memory', notified: ['welcome ada@example.com'], deadLetters: 1, replayable: 1, dashboard: 200 });
  }, 65_000);

  it('run on Redis, RabbitMQ and BullMQ with plain node', async () => {
    const result = await consumer('brokers');
    expect(result.describe).toMatch(/^pubsub=redis\(.+\) bus=rabbitmq\(.+\) queue=bullmq\(.+\)$/);
    expect(result).toMatchObject({ notified: ['welcome ada@example.com'], deadLetters: 1, replayable: 1, dashboard: 200 });
  }, 65_000);

  it("the queue's events-worker bin migrates a PostgreSQL schema from the installed package", async () => {
    const bin = join(app, 'node_modules/.bin/events-worker');
    const stdout = await run(bin, ['migrate', '--url', DATABASE_URL, '--schema', namespace], { cwd: app, timeoutMs: 30_000 });
    expect(stdout).toContain('applied migrations 1');
  }, 35_000);

  it('run with the queue on PostgreSQL with plain node (schema already migrated by the bin)', async () => {
    const result = await consumer('postgres');
    expect(result.describe).toMatch(/queue=postgres\(.+\)$/);
    expect(result).toMatchObject({ notified: ['welcome ada@example.com'], deadLetters: 1, replayable: 1, dashboard: 200 });
  }, 65_000);
});
