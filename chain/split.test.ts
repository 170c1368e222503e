import { describe, expect, it } from 'vitest';
import { chooseVariant } from './split.ts';

const variants = [
  { id: 'a', weight: 70 },
  { id: 'b', weight: 20 },
  { id: 'c', weight: 10 },
  { id: 'never', weight: 0 },
];

describe('A/B split', () => {
  it('gives the same seed the same variant every time', () => {
    for (let i = 0; i < 50; i++) {
      const seed = `chat:bot1:${i}:split_1`;
      expect(chooseVariant(variants, seed).id).toBe(chooseVariant([...variants], seed).id);
    }
  });

  it('distributes seeds roughly by weight and never picks a zero weight', () => {
    const counts: Record<string, number> = { a: 0, b: 0, c: 0, never: 0 };
    const total = 20_000;
    for (let i = 0; i < total; i++) {
      const id = chooseVariant(variants, `run:${i}:split`).id;
      counts[id] = (counts[id] ?? 0) + 1;
    }
    expect(counts['never']).toBe(0);
    expect((counts['a'] ?? 0) / total).toBeCloseTo(0.7, 1);
    expect((counts['b'] ?? 0) / total).toBeCloseTo(0.2, 1);
    expect((counts['c'] ?? 0) / total).toBeCloseTo(0.1, 1);
  });

  it('depends on the seed, not on call order', () => {
    const picks = new Set(Array.from({ length: 40 }, (_, i) => chooseVariant(variants, `seed-${i}`).id));
    expect(picks.size).toBeGreaterThan(1);
  });

  it.each([[[]], [[{ id: 'a', weight: 0 }]]])('refuses variants without positive weight (%j)', (list) => {
    expect(() => chooseVariant(list, 'x')).toThrowError(/positive weight/);
  });
});
