import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clusterSlot } from './cluster-slot.js';

describe('clusterSlot', () => {
  it('matches the values Redis documents and computes (CLUSTER KEYSLOT)', () => {
    // CRC16 XMODEM check value: "123456789" -> 0x31C3.
    expect(clusterSlot('123456789')).toBe(0x31c3 % 16384);
    expect(clusterSlot('foo')).toBe(12182);
    expect(clusterSlot('user1000')).toBe(3443);
    expect(clusterSlot('')).toBe(0);
  });

  it('hashes only a non-empty hash tag', () => {
    expect(clusterSlot('{user1000}.following')).toBe(clusterSlot('user1000'));
    expect(clusterSlot('foo{}{bar}')).toBe(8363); // CLUSTER KEYSLOT foo{}{bar}: the empty tag makes the whole key count
    expect(clusterSlot('foo{}{bar}')).not.toBe(clusterSlot('bar'));
    expect(clusterSlot('foo{{bar}}zap')).toBe(clusterSlot('{bar'));
    expect(clusterSlot('foo{bar}{zap}')).toBe(clusterSlot('bar'));
  });

  it('is a slot for any key, and a tag decides alone', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary', minLength: 1 }), fc.string(), (key, tag, rest) => {
        const slot = clusterSlot(key);
        expect(Number.isInteger(slot) && slot >= 0 && slot < 16384).toBe(true);
        const cleanTag = tag.replace(/[{}]/g, '') || 't';
        expect(clusterSlot(`${rest.replace(/\{/g, '')}{${cleanTag}}${rest}`)).toBe(clusterSlot(cleanTag));
      }),
    );
  });
});
