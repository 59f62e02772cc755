import { describe, expectTypeOf, it } from 'vitest';
import { createPlatform, type Journey, type JourneySummary, type PlatformJourneys } from '../src/index.js';

describe('journey types', () => {
  it('platform.journeys is a typed reader, and keys take a name and a payload', async () => {
    const platform = await createPlatform({}, { journey: { keys: (name: string, payload: unknown) => (name === 'x' ? [String(payload)] : []) } });
    expectTypeOf(platform.journeys).toEqualTypeOf<PlatformJourneys>();
    expectTypeOf(platform.journeys.search('ada@example.com')).resolves.toEqualTypeOf<JourneySummary[]>();
    expectTypeOf(platform.journeys.get('flow')).resolves.toEqualTypeOf<Journey | undefined>();
    expectTypeOf(platform.journeys.mode).toEqualTypeOf<'memory' | 'redis' | 'off'>();
    // @ts-expect-error keys answer strings
    await createPlatform({}, { journey: { keys: () => [1] } });
    // @ts-expect-error not a journey mode
    await createPlatform({ journey: 'disk' });
  });
});
