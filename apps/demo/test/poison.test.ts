/**
 * DEMO_POISON_RATE: a poisoned signup's welcome email ends in a dead letter at its first attempt
 * (DoNotRetryError, no retry), and a replay of that letter is sent, so the dashboard's replay story
 * can be seen in the demo. The demo runs in this process on memory adapters.
 */
import { ConfigError } from '@events/core';
import { waitFor } from '@events/testing';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo, type Demo } from '../src/app.js';
import { demoEnv } from '../src/env.js';

let demo: Demo;
const logs: string[] = [];
beforeAll(async () => {
  demo = await startDemo({ platform: {}, port: 0, host: '127.0.0.1', poisonRate: 1, failureRate: 0, sendMs: 0, log: { write: (line) => void logs.push(line) } });
});
afterAll(() => demo.close({ timeoutMs: 5000 }));

async function signUp(email: string): Promise<string> {
  const response = await fetch(`${demo.url}/api/signup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, tenant: 'poison' }) });
  expect(response.status).toBe(201);
  return ((await response.json()) as { userId: string }).userId;
}

describe('DEMO_POISON_RATE', () => {
  it('is read from the environment: 0 by default, 0..1, anything else refused naming the setting', () => {
    expect(demoEnv({}).options.poisonRate).toBe(0);
    expect(demoEnv({ DEMO_POISON_RATE: '0.25' }).options.poisonRate).toBe(0.25);
    for (const bad of ['1.5', '-0.1', 'often']) {
      expect(() => demoEnv({ DEMO_POISON_RATE: bad })).toThrow(ConfigError);
      expect(() => demoEnv({ DEMO_POISON_RATE: bad })).toThrow(/^DEMO_POISON_RATE=.+ must be a number from 0 to 1$/);
    }
    // Any text: accepted exactly when it is a number from 0 to 1 (blank means the default).
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.double().map(String)), (text) => {
        const value = Number(text.trim());
        const valid = text.trim() === '' || (Number.isFinite(value) && value >= 0 && value <= 1);
        let parsed: number | undefined;
        try {
          parsed = demoEnv({ DEMO_POISON_RATE: text }).options.poisonRate;
        } catch (error) {
          expect(error).toBeInstanceOf(ConfigError);
        }
        expect(parsed !== undefined).toBe(valid);
        if (valid) expect(parsed).toBe(text.trim() === '' ? 0 : value);
      }),
    );
  });

  it('at 1, every signup ends in a dead letter after one attempt; its replay is sent', async () => {
    const userId = await signUp('poisoned@example.com');
    const { queue } = demo.platform;
    await waitFor(async () => (await queue.deadLetters.count({ name: 'sendWelcomeEmail' })) === 1, 10_000, 'the poisoned job as a dead letter');
    const [letter] = await queue.deadLetters.list({ name: 'sendWelcomeEmail' });
    expect(letter).toMatchObject({ name: 'sendWelcomeEmail', attemptsMade: 1 });
    expect(letter?.error.name).toBe('DoNotRetryError');
    expect(letter?.error.message).toContain('no such mailbox poisoned@example.com');
    expect(letter?.payload).toMatchObject({ userId, email: 'poisoned@example.com' });
    expect(logs.some((line) => line.includes('DEAD-LETTERED') && line.includes('poisoned@example.com'))).toBe(true);

    const { replayed } = await queue.deadLetters.replay({ name: 'sendWelcomeEmail' });
    expect(replayed).toHaveLength(1);
    await waitFor(() => logs.some((line) => line.includes('welcome email sent to poisoned@example.com')), 10_000, 'the replayed email sent');
    expect(await queue.deadLetters.count({ name: 'sendWelcomeEmail' })).toBe(0);
  });
});
