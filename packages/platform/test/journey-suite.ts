/**
 * What every journey store promises, run against each (memory, Redis): found by correlation id,
 * envelope id, job id or key, exactly; the causal tree of a signup; the bounds under any sequence
 * of steps; hostile steps and queries never throw. `make` returns a fresh store with the bounds
 * given, and a way to count what it holds.
 */
import type { JourneyStep } from '@events/core';
import fc from 'fast-check';
import { afterEach, expect, it } from 'vitest';
import type { JourneyBounds, JourneyNode, JourneyStore } from '../src/journey/index.js';

export interface StoreUnderTest {
  store: JourneyStore;
  /** Journeys held, and the longest index list (journeys per id or key). */
  held(): Promise<{ journeys: number; maxPerKey: number }>;
  cleanup(): Promise<void>;
}

export type MakeStore = (bounds?: JourneyBounds) => Promise<StoreUnderTest>;

const T0 = 1_764_000_000_000;

/** The demo's signup as the tiers record it: an emit, two groups' handles, a job retried once, a broadcast. */
export function signupSteps(id: string, email: string): JourneyStep[] {
  const event = `${id}-evt`;
  const job = `${id}-job`;
  const bc = `${id}-bc`;
  const base = { correlationId: id, system: 'memory' } as const;
  return [
    { ...base, kind: 'emit', tier: 'bus', name: 'UserSignedUp', envelopeId: event, at: T0, outcome: 'ok', keys: [email] },
    { ...base, kind: 'handle', tier: 'bus', name: 'UserSignedUp', envelopeId: event, group: 'audit', attempt: 1, at: T0 + 2, durationMs: 3, outcome: 'ok' },
    { ...base, kind: 'enqueue', tier: 'queue', name: 'sendWelcomeEmail', envelopeId: job, jobId: `welcome-${id}`, causationId: event, at: T0 + 4, outcome: 'ok', keys: [email] },
    { ...base, kind: 'handle', tier: 'bus', name: 'UserSignedUp', envelopeId: event, group: 'notifications', attempt: 1, at: T0 + 2, durationMs: 6, outcome: 'ok' },
    { ...base, kind: 'attempt', tier: 'queue', name: 'sendWelcomeEmail', envelopeId: job, jobId: `welcome-${id}`, causationId: event, attempt: 1, at: T0 + 10, durationMs: 5, outcome: 'retry', error: 'SMTP 421' },
    { ...base, kind: 'attempt', tier: 'queue', name: 'sendWelcomeEmail', envelopeId: job, jobId: `welcome-${id}`, causationId: event, attempt: 2, at: T0 + 40, durationMs: 5, outcome: 'ok' },
    { ...base, kind: 'broadcast', tier: 'pubsub', name: 'tenant:acme:user:1:notifications', envelopeId: bc, causationId: job, at: T0 + 44, outcome: 'ok' },
  ];
}

const find = (nodes: readonly JourneyNode[], envelopeId: string): JourneyNode | undefined => {
  for (const node of nodes) {
    if (node.envelopeId === envelopeId) return node;
    const inner = find(node.children, envelopeId);
    if (inner) return inner;
  }
  return undefined;
};

/** A step with fields drawn from small pools, so journeys and keys collide. */
const stepArb = fc.record({
  correlationId: fc.constantFrom(...Array.from({ length: 30 }, (_, i) => `c${i}`)),
  envelopeId: fc.string({ minLength: 1, maxLength: 12 }),
  key: fc.constantFrom('a@x.io', 'b@x.io', 'c@x.io', 'd@x.io'),
  kind: fc.constantFrom('emit', 'handle', 'enqueue', 'attempt', 'replay', 'broadcast'),
  outcome: fc.constantFrom('ok', 'retry', 'dead_letter', 'error'),
  at: fc.integer({ min: T0, max: T0 + 1_000_000 }),
});

export function journeyStoreSuite(name: string, make: MakeStore): void {
  let open: StoreUnderTest[] = [];
  const fresh = async (bounds?: JourneyBounds): Promise<JourneyStore> => {
    const made = await make(bounds);
    open.push(made);
    return made.store;
  };
  afterEach(async () => {
    for (const made of open) await made.cleanup();
    open = [];
  });

  it(`${name}: finds a journey by correlation id, envelope id, job id or key, exactly`, async () => {
    const store = await fresh();
    for (const step of signupSteps('flow1', 'ada@example.com')) store.record(step);
    for (const step of signupSteps('flow2', 'bob@example.com')) store.record(step);
    await store.flush();
    for (const query of ['flow1', 'flow1-evt', 'flow1-job', 'welcome-flow1', 'ada@example.com', ' ada@example.com ']) {
      expect((await store.search(query)).map((s) => s.correlationId), query).toEqual(['flow1']);
    }
    for (const query of ['ada', 'ADA@example.com', 'flow', '*', 'flow1*', '%']) expect(await store.search(query), query).toEqual([]);
    const summary = (await store.search('bob@example.com'))[0]!;
    expect(summary).toMatchObject({ correlationId: 'flow2', steps: 7, retries: 1, deadLetters: 0, errors: 0, names: ['UserSignedUp', 'sendWelcomeEmail', 'tenant:acme:user:1:notifications'] });
    expect((await store.search('', { limit: 10 })).map((s) => s.correlationId).sort()).toEqual(['flow1', 'flow2']);
  });

  it(`${name}: builds the causal tree: the event, its groups, the job's attempts with the first's error, the broadcast`, async () => {
    const store = await fresh();
    for (const step of signupSteps('tree', 'ada@example.com')) store.record(step);
    await store.flush();
    const journey = (await store.get('tree'))!;
    expect(journey.roots.map((r) => r.envelopeId)).toEqual(['tree-evt']);
    const event = journey.roots[0]!;
    expect(event).toMatchObject({ tier: 'bus', name: 'UserSignedUp', offsetMs: 0, durationMs: 8 });
    expect(event.steps.map((s) => [s.kind, s.group ?? ''])).toEqual([['emit', ''], ['handle', 'audit'], ['handle', 'notifications']]);
    const job = event.children[0]!;
    expect(job).toMatchObject({ tier: 'queue', name: 'sendWelcomeEmail', jobId: 'welcome-tree', deadLetter: false, offsetMs: 4 });
    expect(job.steps.filter((s) => s.kind === 'attempt').map((s) => [s.attempt, s.outcome, s.error, s.offsetMs])).toEqual([
      [1, 'retry', 'SMTP 421', 10],
      [2, 'ok', undefined, 40],
    ]);
    expect(find(journey.roots, 'tree-bc')).toMatchObject({ tier: 'pubsub', causationId: 'tree-job', offsetMs: 44 });
    expect(journey.stepList).toHaveLength(7);
    expect(await store.get('nope')).toBeUndefined();
  });

  it(`${name}: a dead letter and its replay; a cause outside the journey, or a cycle, makes a root`, async () => {
    const store = await fresh();
    const base = { correlationId: 'dl', system: 'memory', tier: 'queue', name: 'sendWelcomeEmail' } as const;
    store.record({ ...base, kind: 'enqueue', envelopeId: 'j1', causationId: 'elsewhere', at: T0, outcome: 'ok' });
    store.record({ ...base, kind: 'attempt', envelopeId: 'j1', attempt: 1, at: T0 + 1, outcome: 'dead_letter', error: 'SMTP 550' });
    store.record({ ...base, kind: 'replay', envelopeId: 'j2', causationId: 'j1', at: T0 + 5, outcome: 'ok' });
    store.record({ ...base, kind: 'attempt', envelopeId: 'j2', causationId: 'j1', attempt: 1, at: T0 + 6, outcome: 'ok' });
    store.record({ ...base, kind: 'enqueue', envelopeId: 'x', causationId: 'y', at: T0 + 7, outcome: 'ok' });
    store.record({ ...base, kind: 'enqueue', envelopeId: 'y', causationId: 'x', at: T0 + 8, outcome: 'ok' });
    await store.flush();
    const journey = (await store.get('dl'))!;
    expect(journey.deadLetters).toBe(1);
    const first = find(journey.roots, 'j1')!;
    expect(journey.roots.map((r) => r.envelopeId)).toContain('j1');
    expect(first.deadLetter).toBe(true);
    expect(first.children.map((c) => [c.envelopeId, c.deadLetter])).toEqual([['j2', false]]);
    expect(find(journey.roots, 'x')).toBeDefined();
    expect(find(journey.roots, 'y')).toBeDefined();
  });

  it(`${name}: record never throws, whatever the step, and a malformed one costs only itself; hostile queries answer, never throw`, async () => {
    const store = await fresh();
    const malformed = [null, undefined, 42, { kind: 'emit' }, { correlationId: 'h', envelopeId: 'h', at: 'x', keys: 'not-a-list' }, { ...signupSteps('m', 'm@x.io')[0]!, keys: [1] }];
    const odd = { correlationId: 'z'.repeat(10_000), envelopeId: '', at: 1, kind: 'emit', tier: 'bus', outcome: 'ok', name: '', system: '' };
    const good = signupSteps('good', 'good@x.io');
    for (const [i, step] of [...malformed, odd].entries()) {
      expect(() => store.record(step as unknown as JourneyStep)).not.toThrow();
      if (good[i]) store.record(good[i]);
    }
    await store.flush();
    expect(store.stats()).toMatchObject({ recorded: malformed.length + 1 + good.length, dropped: malformed.length });
    expect((await store.get('good'))?.stepList).toHaveLength(good.length);
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 600 }), async (query) => {
        const found = await store.search(query, { limit: 5 });
        expect(found.length).toBeLessThanOrEqual(5);
      }),
      { numRuns: 60 },
    );
  });

  it(`${name}: the bounds hold under any sequence of steps, and the newest journey is found`, async () => {
    const bounds = { maxJourneys: 10, maxStepsPerJourney: 5, maxJourneysPerKey: 3 };
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 120 }), async (drawn) => {
        const made = await make(bounds);
        try {
          for (const d of drawn) {
            made.store.record({ kind: d.kind, tier: 'queue', system: 'memory', name: 'job', envelopeId: d.envelopeId, correlationId: d.correlationId, at: d.at, outcome: d.outcome, keys: [d.key] });
          }
          await made.store.flush();
          const held = await made.held();
          expect(held.journeys).toBeLessThanOrEqual(bounds.maxJourneys);
          expect(held.maxPerKey).toBeLessThanOrEqual(bounds.maxJourneysPerKey);
          const last = drawn.at(-1)!;
          const journey = (await made.store.get(last.correlationId))!;
          expect(journey.stepList.length).toBeGreaterThan(0);
          expect(journey.stepList.length).toBeLessThanOrEqual(bounds.maxStepsPerJourney);
          expect((await made.store.search(last.key)).map((s) => s.correlationId)).toContain(last.correlationId);
          expect(made.store.stats().recorded).toBe(drawn.length);
        } finally {
          await made.cleanup();
        }
      }),
      { numRuns: 25 },
    );
  });
}
