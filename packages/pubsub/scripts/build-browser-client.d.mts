/** Types of build-browser-client.mjs (the browser bundle of the websocket client). */
import type { Metafile } from 'esbuild';

export declare const BROWSER_CLIENT_ENTRY: string;
export declare const BROWSER_CLIENT_OUTFILE: string;

export interface BrowserClientBuild {
  readonly metafile: Metafile;
  readonly outfile: string;
  /** The bundle's text, when built with `write: false`. */
  readonly js: string | undefined;
  /** Its source map's text, when built with `write: false`. */
  readonly map: string | undefined;
}

export declare function buildBrowserClient(options?: { write?: boolean; outfile?: string; entry?: string }): Promise<BrowserClientBuild>;

export declare function bundleSize(js: string): { bytes: number; gzipBytes: number };
