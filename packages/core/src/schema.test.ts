import type { StandardSchemaV1 } from '@standard-schema/spec';
import { describe, expect, it } from 'vitest';
import { ValidationError } from './errors.js';
import { validatePayload } from './schema.js';

// A hand-written Standard Schema, as zod/valibot/arktype would provide: core depends on none of them.
const signup: StandardSchemaV1<unknown, { userId: string; email: string }> = {
  '~standard': {
    version: 1,
    vendor: 'test',
    validate(value) {
      const v = value as Record<string, unknown>;
      const issues: StandardSchemaV1.Issue[] = [];
      if (typeof v?.userId !== 'string') issues.push({ message: 'expected string', path: ['userId'] });
      if (typeof v?.email !== 'string' || !v.email.includes('@')) issues.push({ message: 'invalid email', path: [{ key: 'email' }] });
      return issues.length ? { issues } : { value: { userId: v.userId as string, email: (v.email as string).toLowerCase() } };
    },
  },
};

type Events = { UserSignedUp: { userId: string; email: string }; Other: number };

describe('validatePayload', () => {
  it('returns the schema output on success', async () => {
    await expect(validatePayload<Events, 'UserSignedUp'>({ UserSignedUp: signup }, 'UserSignedUp', { userId: 'u', email: 'A@B.C' })).resolves.toEqual({ userId: 'u', email: 'a@b.c' });
  });

  it('passes payloads through when no schema is registered', async () => {
    await expect(validatePayload<Events, 'Other'>({ UserSignedUp: signup }, 'Other', 5)).resolves.toBe(5);
    await expect(validatePayload<Events, 'Other'>(undefined, 'Other', 5)).resolves.toBe(5);
  });

  it('names the event and every failing field', async () => {
    const err = await validatePayload<Events, 'UserSignedUp'>({ UserSignedUp: signup }, 'UserSignedUp', { email: 'nope' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).code).toBe('VALIDATION');
    expect((err as ValidationError).eventName).toBe('UserSignedUp');
    expect((err as ValidationError).message).toBe('invalid payload for "UserSignedUp": userId: expected string; email: invalid email');
  });

  it('reports root-level failures as (root)', async () => {
    const root: StandardSchemaV1<unknown, number> = { '~standard': { version: 1, vendor: 't', validate: () => ({ issues: [{ message: 'expected number' }] }) } };
    await expect(validatePayload<Events, 'Other'>({ Other: root }, 'Other', 'x')).rejects.toThrow('invalid payload for "Other": (root): expected number');
  });
});
