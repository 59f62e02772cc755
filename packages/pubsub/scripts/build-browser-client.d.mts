import type { Metafile } from 'esbuild';

export declare const BROWSER_CLIENT_ENTRY: string;
export declare const BROWSER_CLIENT_OUTFILE: string;
export declare function buildBrowserClient(options?: { write?: boolean; outfile?: string; entry?: string }): Promise<{ metafile: Metafile; outfile: string; js: string | undefined; map: string | undefined }>;
export declare function bundleSize(js: string): { bytes: number; gzipBytes: number };
