/**
 * The browser build of `@events/pubsub/client`, made once at start in memory by the package's own
 * browser build (`@events/pubsub/browser-build`: one ESM file, no import left, no Node built-in,
 * minified, from the package's source) and served at /vendor/pubsub-client.js with its source map.
 * So the page always runs the client of this checkout, with or without a prior `npm run build`. A
 * build failure stops the start with its message.
 */
import { buildBrowserClient } from '@events/pubsub/browser-build';

export const CLIENT_BUNDLE_PATH = '/vendor/pubsub-client.js';

export interface ClientBundle {
  readonly js: Buffer;
  readonly map: Buffer;
}

export async function buildClientBundle(): Promise<ClientBundle> {
  // The outfile names the bundle in its source map link; nothing is written.
  const { js, map } = await buildBrowserClient({ write: false, outfile: 'pubsub-client.js' });
  if (js === undefined || map === undefined) throw new Error('esbuild made no browser client bundle');
  return { js: Buffer.from(js), map: Buffer.from(map) };
}
