/**
 * The browser build of the websocket client: src/client/index.ts as one ESM file with no imports
 * left (dist/client.browser.js, minified, with a source map), exported as
 * `@events/pubsub/client/browser`. A Node built-in anywhere in its graph fails the build.
 *
 *   node scripts/build-browser-client.mjs     (run by `npm run build` after tsc)
 */
import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
export const BROWSER_CLIENT_ENTRY = `${root}src/client/index.ts`;
export const BROWSER_CLIENT_OUTFILE = `${root}dist/client.browser.js`;

const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));

/** Fails the build on `node:*` or a bare built-in name, naming the file that imported it. */
const noNodeBuiltins = {
  name: 'no-node-builtins',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /.*/ }, (args) => {
      if (!builtins.has(args.path) && !args.path.startsWith('node:')) return undefined;
      return { errors: [{ text: `the browser client may not import the Node built-in "${args.path}" (imported by ${args.importer})` }] };
    });
  },
};

/**
 * Builds the bundle. `write: false` keeps it in memory (tests, or a server that serves it);
 * `entry` builds another file with the same rules (the test of the built-in guard).
 * @param {{ write?: boolean, outfile?: string, entry?: string }} [options]
 */
export async function buildBrowserClient(options = {}) {
  const outfile = options.outfile ?? BROWSER_CLIENT_OUTFILE;
  const result = await build({
    entryPoints: [options.entry ?? BROWSER_CLIENT_ENTRY],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    sourcemap: 'linked',
    legalComments: 'none',
    metafile: true,
    write: options.write ?? true,
    logLevel: 'silent',
    plugins: [noNodeBuiltins],
  });
  const js = result.outputFiles?.find((f) => f.path.endsWith('.js'))?.text;
  const map = result.outputFiles?.find((f) => f.path.endsWith('.map'))?.text;
  return { metafile: result.metafile, outfile, js, map };
}

/** Bytes of a built bundle, raw and gzipped (what the README states). */
export function bundleSize(js) {
  const bytes = Buffer.byteLength(js);
  return { bytes, gzipBytes: gzipSync(js, { level: 9 }).length };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { outfile } = await buildBrowserClient();
  const { readFileSync } = await import('node:fs');
  const { bytes, gzipBytes } = bundleSize(readFileSync(outfile, 'utf8'));
  console.log(`${outfile.slice(root.length)}: ${bytes} bytes, ${gzipBytes} gzipped`);
}
