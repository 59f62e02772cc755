import { describe, expect, it } from 'vitest';
import { createId, idTimestamp } from './id.js';

describe('createId', () => {
  it('makes RFC 9562 version 7 UUIDs', () => {
    const id = createId();
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('spends its random bytes on every random digit (variant digit 8-b, the rest 0-f)', () => {
    const ids = Array.from({ length: 4000 }, () => createId());
    const seen = (position: number): Set<string> => new Set(ids.map((id) => id[position]!));
    expect([...seen(19)].sort()).toEqual(['8', '9', 'a', 'b']);
    for (const position of [20, 21, 22, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35]) expect(seen(position).size).toBe(16);
    for (const id of ids) expect(id).toHaveLength(36);
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
