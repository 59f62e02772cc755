#!/usr/bin/env node
// Packs every publishable workspace into a tarball an application can install until the packages
// are on a registry:  npm run pack [-- --out DIR]   (default DIR: .tmp/packs)
//
// Each package is staged in a temporary folder first: its package.json without the monorepo's
// "@events/source" export condition (it points at src/, which is not shipped), without
// devDependencies and scripts, and the files its "files" field names plus README.md and LICENSE.
// `npm pack` runs there, so the tarball holds the built dist/, its types, README and LICENSE and
// nothing else. Refuses to pack a missing or stale dist/ (run `npm run build`; `npm ci` runs it).
// Plain Node, no dependencies: it runs right after `npm ci`.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The publishable workspaces, dependencies first. */
export const PACKAGES = ['packages/core', 'packages/pubsub', 'packages/bus', 'packages/queue', 'packages/platform', 'apps/dashboard'];
/** Exports kept for the monorepo's own use (tests, the demo's in-memory browser build), never shipped. */
const TEST_ONLY_EXPORTS = { '@events/dashboard': ['./hostile-http'], '@events/pubsub': ['./browser-build'] };
const SOURCE_CONDITION = '@events/source';

class PackError extends Error {}

function walk(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? walk(path) : [path];
  });
}

/** Every non-test source file has a built file at least as new as itself. */
function checkDist(pkgDir, name) {
  const src = join(pkgDir, 'src');
  const dist = join(pkgDir, 'dist');
  if (!existsSync(join(dist, 'index.js')) && !existsSync(join(dist, 'dashboard.js'))) {
    throw new PackError(`${name}: no dist/ in ${relative(ROOT, pkgDir)}. Run \`npm run build\` first (\`npm ci\` runs it through the root prepare script).`);
  }
  for (const file of walk(src)) {
    if (!file.endsWith('.ts') || /\.test(-d)?\.ts$/.test(file) || file.endsWith('.d.ts')) continue;
    const built = join(dist, relative(src, file)).replace(/\.ts$/, '.js');
    if (!existsSync(built)) throw new PackError(`${name}: ${relative(ROOT, built)} is missing (its source ${relative(ROOT, file)} is newer than the build). Run \`npm run build\`.`);
    if (statSync(built).mtimeMs < statSync(file).mtimeMs) {
      throw new PackError(`${name}: ${relative(ROOT, built)} is older than ${relative(ROOT, file)}. Run \`npm run build\`.`);
    }
  }
}

/** The export map without the source condition and without the test-only entries. */
function publishedExports(exports, name) {
  const omit = new Set(TEST_ONLY_EXPORTS[name] ?? []);
  const strip = (value) => {
    if (typeof value !== 'object' || value === null) return value;
    return Object.fromEntries(Object.entries(value).filter(([key]) => key !== SOURCE_CONDITION && !omit.has(key)).map(([key, v]) => [key, strip(v)]));
  };
  return strip(exports);
}

function targets(value) {
  if (typeof value === 'string') return [value];
  if (typeof value !== 'object' || value === null) return [];
  return Object.values(value).flatMap(targets);
}

function stage(pkgDir, stagingRoot) {
  const manifest = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
  const { name } = manifest;
  if (manifest.private) throw new PackError(`${name} is private: it is not meant to be packed`);
  checkDist(pkgDir, name);
  const dir = join(stagingRoot, name.replace('/', '__'));
  mkdirSync(dir, { recursive: true });
  for (const entry of [...(manifest.files ?? []), 'README.md', 'LICENSE']) {
    const from = join(pkgDir, entry);
    if (!existsSync(from)) throw new PackError(`${name}: ${relative(ROOT, from)} is missing`);
    cpSync(from, join(dir, entry), { recursive: true, filter: (path) => !/\.test(-d)?\.(js|d\.ts|js\.map)$/.test(path) });
  }
  const published = { ...manifest, exports: publishedExports(manifest.exports, name) };
  delete published.devDependencies;
  delete published.scripts;
  for (const target of [published.main, published.types, ...targets(published.exports), ...Object.values(published.bin ?? {})]) {
    if (target !== undefined && !existsSync(join(dir, target))) throw new PackError(`${name}: package.json points at ${target}, which is not in the package`);
  }
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(published, null, 2)}\n`);
  return { name, dir };
}

/** Packs every publishable workspace into `out`; returns the tarballs' absolute paths, dependencies first. */
export function packAll(out, log = () => {}) {
  mkdirSync(out, { recursive: true });
  const stagingRoot = mkdtempSync(join(tmpdir(), 'events-pack-'));
  try {
    const staged = PACKAGES.map((pkg) => stage(join(ROOT, pkg), stagingRoot));
    // One npm process for all of them (npm's own start-up is most of the time of a pack).
    const results = JSON.parse(
      execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', out, ...staged.map((s) => s.dir)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }),
    );
    return staged.map(({ name }) => {
      const result = results.find((r) => r.name === name);
      if (!result) throw new PackError(`${name}: npm pack made no tarball`);
      const tests = result.files.filter((f) => /(^|\/)(src|test)\/|\.test\./.test(f.path));
      if (tests.length > 0) throw new PackError(`${name}: the tarball holds sources or tests: ${tests.map((f) => f.path).join(', ')}`);
      log(`${result.filename}  ${result.files.length} files, ${(result.size / 1024).toFixed(0)} KiB packed`);
      return join(out, result.filename);
    });
  } finally {
    rmSync(stagingRoot, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const at = process.argv.indexOf('--out');
  const out = resolve(at > 0 && process.argv[at + 1] ? process.argv[at + 1] : join(ROOT, '.tmp', 'packs'));
  try {
    const tarballs = packAll(out, (line) => console.log(line));
    console.log(`\nInstall them together in your app (npm resolves each one's @events/* dependencies among them):\n  npm install ${tarballs.join(' ')}`);
  } catch (error) {
    if (!(error instanceof PackError)) throw error;
    console.error(`npm run pack: ${error.message}`);
    process.exitCode = 1;
  }
}
