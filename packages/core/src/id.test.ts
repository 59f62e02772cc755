import { describe, expect, it } from 'vitest';
import { createId, idTimestamp } from './id.js';

describe('createId', () => {
  it('makes RFC 9562 version 7 UUIDs', () => {
    const id = createId();
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('sorts in creation order, even within one millisecond', () => {
    const ids = Array.from({ length: 5000 }, () => createId(1_700_000_000_000));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('keeps order when the clock steps back', () => {
    const a = createId(1_800_000_000_000);
    const b = createId(1_799_999_999_000);
    expect(b > a).toBe(true);
  });

  it('encodes its timestamp', () => {
    expect(idTimestamp(createId(1_900_000_000_123))).toBeGreaterThanOrEqual(1_900_000_000_123);
  });
});
