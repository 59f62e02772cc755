/**
 * The health facts of a platform's three tiers, for `/healthz` (the demo) and `/api/health` (the
 * dashboard): each tier's `health()` (phase, connected, lastError, counts, see `Health` in
 * @events/core). Reading them does no I/O. `ok` is false when a tier is not `ready` or not
 * connected. The last error's message can name hosts or paths, so it is left out unless `expose`.
 */
import type { Health } from '@events/core';

export interface TierHealth {
  readonly phase: Health['phase'] | 'unknown';
  readonly connected: boolean | 'unknown';
  readonly lastError?: { readonly kind: string; readonly at: string; readonly message?: string };
  readonly counts: Readonly<Record<string, number>>;
}

export interface PlatformHealth {
  readonly ok: boolean;
  readonly tiers: { readonly pubsub: TierHealth; readonly bus: TierHealth; readonly queue: TierHealth };
}

export function platformHealth(platform: { readonly pubsub: object; readonly bus: object; readonly queue: object }, options: { expose?: boolean } = {}): PlatformHealth {
  const tiers = {
    pubsub: componentHealth(platform.pubsub, options.expose ?? false),
    bus: componentHealth(platform.bus, options.expose ?? false),
    queue: componentHealth(platform.queue, options.expose ?? false),
  };
  // A tier that cannot say (no health() yet) does not fail the check: it is reported as unknown.
  const ok = Object.values(tiers).every((t) => (t.phase === 'unknown' || t.phase === 'ready') && t.connected !== false);
  return { ok, tiers };
}

/** The health facts of one component with a `health()` (a tier, the websocket gateway), or `unknown` without one. */
export function componentHealth(tier: object, expose = false): TierHealth {
  const read = (tier as { health?: unknown }).health;
  if (typeof read !== 'function') return { phase: 'unknown', connected: 'unknown', counts: {} };
  let health: Health;
  try {
    health = (read as () => Health).call(tier);
  } catch {
    return { phase: 'unknown', connected: 'unknown', counts: {} };
  }
  const last = health.lastError;
  return {
    phase: health.phase,
    connected: health.connected,
    counts: { ...health.counts },
    ...(last ? { lastError: { kind: last.kind, at: last.at.toISOString(), ...(expose ? { message: last.message } : {}) } } : {}),
  };
}
