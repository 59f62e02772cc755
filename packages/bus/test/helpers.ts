/** Bus-only test helpers; the shared ones (waitFor, delay, deferred, randomId) are in @events/testing. */

/** Counts how often each id was seen; returns the ids seen more than once with their counts. */
export function duplicatesOf(ids: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  return new Map([...counts].filter(([, n]) => n > 1));
}
