import { describe, expect, it } from 'vitest';
import { eachLimited } from './each-limited.ts';

describe('eachLimited', () => {
  it('returns the results in the order of the items, whatever order they finish in', async () => {
    const finished: number[] = [];
    const gates = new Map<number, () => void>();
    const running = eachLimited([1, 2, 3, 4], 4, (n) => new Promise<number>((resolve) => gates.set(n, () => { finished.push(n); resolve(n * 10); })));
    for (const n of [4, 2, 3, 1]) gates.get(n)?.();
    expect(await running).toEqual([10, 20, 30, 40]);
    expect(finished).toEqual([4, 2, 3, 1]);
  });

  it('never runs more than `width` calls at once, and runs them all', async () => {
    let active = 0;
    let peak = 0;
    const seen: number[] = [];
    const results = await eachLimited(Array.from({ length: 20 }, (_, i) => i), 3, async (i) => {
      active++;
      peak = Math.max(peak, active);
      await Promise.resolve();
      await Promise.resolve();
      seen.push(i);
      active--;
      return i;
    });
    expect(peak).toBe(3);
    expect(seen.sort((a, b) => a - b)).toEqual(results);
    expect(results).toHaveLength(20);
  });

  it('answers an empty list without calling', async () => {
    expect(await eachLimited([], 8, () => Promise.reject(new Error('called')))).toEqual([]);
  });
});
