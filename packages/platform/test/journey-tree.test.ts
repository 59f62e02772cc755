import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { JourneyStep } from '@events/core';
import { buildJourney } from '../src/journey/tree.js';

const step = (over: Partial<JourneyStep> & Pick<JourneyStep, 'kind' | 'envelopeId' | 'at'>): JourneyStep => ({
  tier: 'queue',
  system: 'memory',
  name: 'sendWelcomeEmail',
  correlationId: 'c1',
  outcome: 'ok',
  ...over,
});

describe('journey tree order', () => {
  it('puts the step that sent a message before the steps that consumed it, whatever sub-millisecond times say', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 2, noNaN: true }), fc.boolean(), (skew, recordedLate) => {
        // The replay is recorded when its enqueue resolved; its first attempt may claim an earlier start.
        const replay = step({ kind: 'replay', envelopeId: 'job-2', jobId: 'job-2', causationId: 'job-1', at: 1000 });
        const attempt = step({ kind: 'attempt', envelopeId: 'job-2', jobId: 'job-2', causationId: 'job-1', attempt: 1, at: 1000 - skew, durationMs: 0.3 });
        const dead = step({ kind: 'attempt', envelopeId: 'job-1', jobId: 'job-1', attempt: 1, outcome: 'dead_letter', at: 900 });
        const journey = buildJourney('c1', recordedLate ? [dead, attempt, replay] : [dead, replay, attempt]);
        const [root] = journey.roots;
        expect(root!.envelopeId).toBe('job-1');
        const child = root!.children[0]!;
        expect(child.steps.map((s) => s.kind)).toEqual(['replay', 'attempt']);
        expect(child.causationId).toBe('job-1');
        expect(journey.stepList.every((s) => s.offsetMs >= 0)).toBe(true);
      }),
    );
  });
});
