import { describe, expect, it } from 'vitest';
import { Lru } from '../../server/core/lru.ts';

describe('the bounded LRU behind every cache', () => {
  it('holds at most `max` entries and evicts the oldest first', () => {
    const l = new Lru<number>(3);
    for (const [i, k] of ['a', 'b', 'c', 'd'].entries()) l.set(k, i);
    expect(l.size).toBe(3);
    expect(l.get('a')).toBeUndefined();
    expect([l.get('b'), l.get('c'), l.get('d')]).toEqual([1, 2, 3]);
  });

  it('a hit on an entry past half its life keeps it, and the next oldest goes instead', () => {
    const l = new Lru<number>(4);
    for (const [i, k] of ['a', 'b', 'c', 'd'].entries()) l.set(k, i);
    expect(l.get('a')).toBe(0);
    l.set('e', 4);
    expect(l.get('a')).toBe(0);
    expect(l.get('b')).toBeUndefined();
  });

  it('an entry hit regularly survives any number of insertions of others', () => {
    const l = new Lru<string>(100);
    l.set('hot', 'kept');
    for (let i = 0; i < 10_000; i++) {
      l.set(`k${i}`, 'x');
      if (i % 40 === 0) expect(l.get('hot')).toBe('kept');
    }
    expect(l.size).toBe(100);
  });

  it('is bounded by the total length of its keys too, and refuses a key longer than that bound', () => {
    const l = new Lru<number>(1000, 10);
    l.set('aaaa', 1);
    l.set('bbbb', 2);
    l.set('cccc', 3);
    expect(l.keyChars).toBeLessThanOrEqual(10);
    expect(l.get('aaaa')).toBeUndefined();
    l.set('x'.repeat(11), 4);
    expect(l.get('x'.repeat(11))).toBeUndefined();
  });

  it('setting an existing key replaces its value without growing', () => {
    const l = new Lru<number>(2);
    l.set('a', 1);
    l.set('a', 2);
    expect(l.size).toBe(1);
    expect(l.keyChars).toBe(1);
    expect(l.get('a')).toBe(2);
  });
});
