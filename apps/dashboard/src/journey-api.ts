/**
 * The dashboard's journey answers, over `platform.journeys`: a search by correlation id, envelope
 * id, job id or key (an email), and one journey with its causal tree. A query is bounded
 * (MAX_JOURNEY_QUERY characters) and never echoed back; every answer's JSON has `<`, `>` and `&`
 * escaped, so a hostile name, key or error text stays inert even where JSON is sniffed as HTML.
 * A store that does not answer in time is a 503, never a hang or a 500.
 */
import type { ServerResponse } from 'node:http';
import { ClosedError, TimeoutError } from '@events/core';
import type { JourneyNode, JourneySummary, Platform } from '@events/platform';
import { HttpError, SECURITY_HEADERS } from './http-kit.js';

/** Longest `q` (and correlation id) accepted; a longer one is 400. */
export const MAX_JOURNEY_QUERY = 256;
/** Journeys per search answer at most. */
export const MAX_JOURNEY_RESULTS = 50;

export interface JourneyApiOptions {
  /** The dashboard's own live-feed group (`busGroup`): its handle steps are the dashboard watching, not the application, and are left out. */
  ownGroup?: string | undefined;
}

export function createJourneyApi(platform: Pick<Platform, 'journeys'>, options: JourneyApiOptions = {}) {
  const journeys = platform.journeys;
  const nodeJson = (node: JourneyNode): unknown => nodeAnswer(node, options.ownGroup);

  async function ask<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof TimeoutError || error instanceof ClosedError) throw new HttpError(503, 'the journey store did not answer in time: try again');
      throw error;
    }
  }

  return {
    /** `?q=&limit=`: matching journeys, most recent first; the most recent ones without `q`. */
    async search(url: URL) {
      const q = (url.searchParams.get('q') ?? '').trim();
      if (q.length > MAX_JOURNEY_QUERY) throw new HttpError(400, `"q" has at most ${MAX_JOURNEY_QUERY} characters`);
      const rawLimit = url.searchParams.get('limit');
      const limit = rawLimit === null || rawLimit === '' ? 20 : /^\d{1,3}$/.test(rawLimit) ? Number(rawLimit) : NaN;
      if (!(limit >= 1 && limit <= MAX_JOURNEY_RESULTS)) throw new HttpError(400, `"limit" must be an integer from 1 to ${MAX_JOURNEY_RESULTS}`);
      const found = await ask(() => journeys.search(q, { limit }));
      return { mode: journeys.mode, journeys: found.map(summaryJson) };
    },
    /** One journey and its tree; 404 when it is not (or no longer) known. */
    async journey(correlationId: string) {
      if (correlationId.length === 0 || correlationId.length > MAX_JOURNEY_QUERY) throw new HttpError(400, `a correlation id has 1 to ${MAX_JOURNEY_QUERY} characters`);
      const journey = await ask(() => journeys.get(correlationId));
      if (!journey) throw new HttpError(404, 'no journey with that correlation id (journeys are kept for a while, the most recent ones only)');
      return { ...summaryJson(journey), truncated: journey.truncated, roots: journey.roots.map(nodeJson) };
    },
  };
}

export type JourneyApi = ReturnType<typeof createJourneyApi>;

function summaryJson(s: JourneySummary) {
  return {
    correlationId: s.correlationId,
    startedAt: new Date(s.startedAt).toISOString(),
    lastAt: new Date(s.lastAt).toISOString(),
    durationMs: Math.max(0, s.lastAt - s.startedAt),
    steps: s.steps,
    names: s.names,
    retries: s.retries,
    deadLetters: s.deadLetters,
    errors: s.errors,
  };
}

function nodeAnswer(node: JourneyNode, ownGroup: string | undefined): unknown {
  return {
    envelopeId: node.envelopeId,
    tier: node.tier,
    system: node.system,
    name: node.name,
    causationId: node.causationId,
    jobId: node.jobId,
    offsetMs: node.offsetMs,
    durationMs: node.durationMs,
    deadLetter: node.deadLetter,
    steps: node.steps.filter((s) => !(s.kind === 'handle' && ownGroup !== undefined && s.group === ownGroup)).map((s) => ({
      kind: s.kind,
      outcome: s.outcome,
      offsetMs: s.offsetMs,
      durationMs: s.durationMs,
      group: s.group,
      attempt: s.attempt,
      error: s.error,
      traceId: s.traceId,
      system: s.system,
    })),
    children: node.children.map((child) => nodeAnswer(child, ownGroup)),
  };
}

/** JSON with `<`, `>` and `&` as \u escapes: the same value to a JSON parser, inert to an HTML one. */
export function sendSafeJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) {
    res.end();
    return;
  }
  const text = JSON.stringify(body).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(`${text}\n`);
}
