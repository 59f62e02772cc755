import { describe, expect, it } from 'vitest';
import { context, trace } from '@opentelemetry/api';
import { producerContext, startProducerSpan, withConsumerSpan } from '../src/telemetry.js';
import type { Headers } from '../src/envelope.js';

// This file registers no SDK (vitest runs each file in its own module graph and globals).
describe('telemetry without an SDK', () => {
  it('is a no-op: no headers written, work runs in the caller context and its value comes back', async () => {
    const headers: Headers = { keep: 'me' };
    // No SDK: not traced under any mode, nothing asked of the API beyond a few reads.
    expect(producerContext('always')).toBeUndefined();
    expect(producerContext('join')).toBeUndefined();
    // Handed a context anyway, the API's no-op tracer makes a span that records nothing and writes nothing.
    const span = startProducerSpan(context.active(), { operation: 'broadcast', tier: 'pubsub', system: 'redis', destination: 'chat:1' }, headers);
    expect(span.isRecording()).toBe(false);
    span.end();
    expect(headers).toEqual({ keep: 'me' });
    const active = context.active();
    let recording: boolean | undefined;
    await expect(
      withConsumerSpan({ operation: 'handle', tier: 'pubsub', system: 'redis', destination: 'chat:1' }, { mode: 'always', headers }, () => {
        recording = trace.getActiveSpan()?.isRecording();
        return 'ok';
      }),
    ).resolves.toBe('ok');
    expect(recording).not.toBe(true);
    expect(context.active()).toBe(active);
  });
});
