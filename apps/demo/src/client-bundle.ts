/**
 * The browser build of `@events/pubsub/client`, made once at start with esbuild in memory and
 * served at /vendor/pubsub-client.js (with its source map) for the page to import. Made from the
 * package's source, so the page always runs the client of this checkout, with or without a prior
 * `npm run build`; the rules are those of the package's own browser build (one ESM file, no
 * import left, no Node built-in, minified). A build failure stops the start with its message.
 */
import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

export const CLIENT_BUNDLE_PATH = '/vendor/pubsub-client.js';

export interface ClientBundle {
  readonly js: Buffer;
  readonly map: Buffer;
}

const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));
const noNodeBuiltins: Plugin = {
  name: 'no-node-builtins',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /.*/ }, (args) =>
      builtins.has(args.path) || args.path.startsWith('node:') ? { errors: [{ text: `the browser client may not import "${args.path}" (from ${args.importer})` }] } : undefined,
    );
  },
};

export async function buildClientBundle(): Promise<ClientBundle> {
  const result = await build({
    stdin: { contents: "export * from '@events/pubsub/client';", resolveDir: fileURLToPath(new URL('.', import.meta.url)), sourcefile: 'pubsub-client.js' },
    // The package's source entry (this checkout's client), not its dist.
    conditions: ['@events/source'],
    outfile: `pubsub-client.js`,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    sourcemap: 'linked',
    legalComments: 'none',
    write: false,
    logLevel: 'silent',
    plugins: [noNodeBuiltins],
  });
  const js = result.outputFiles.find((f) => f.path.endsWith('.js'));
  const map = result.outputFiles.find((f) => f.path.endsWith('.map'));
  if (!js || !map) throw new Error('esbuild made no browser client bundle');
  return { js: Buffer.from(js.contents), map: Buffer.from(map.contents) };
}
