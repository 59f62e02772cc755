/** The platform's health: the three tiers' facts folded into one (see Health in @events/core). */
import type { Health, LifecyclePhase } from '@events/core';

const ORDER: readonly LifecyclePhase[] = ['failed', 'idle', 'starting', 'ready', 'closing', 'closed'];

export function platformHealth(tiers: Readonly<Record<string, { health(): Health }>>, closing: boolean): Health {
  const counts: Record<string, number> = {};
  let connected = true;
  let lastError: Health['lastError'];
  let phase: LifecyclePhase = 'closed';
  for (const [name, tier] of Object.entries(tiers)) {
    const h = tier.health();
    connected &&= h.connected;
    if (h.lastError && (!lastError || h.lastError.at > lastError.at)) lastError = { ...h.lastError, kind: `${name}.${h.lastError.kind}` };
    if (ORDER.indexOf(h.phase) < ORDER.indexOf(phase)) phase = h.phase;
    for (const [key, value] of Object.entries(h.counts)) counts[`${name}.${key}`] = value;
  }
  if (closing && phase !== 'closed') phase = 'closing';
  return { phase, connected, ...(lastError ? { lastError } : {}), counts };
}
