import { sha256Bytes, utf8Bytes } from './hash.ts';

/** A uniform number in [0, 1) derived from a string (48 bits of its SHA-256). */
export function unitFromSeed(seed: string): number {
  const digest = sha256Bytes(utf8Bytes(seed));
  let value = 0;
  for (let i = 0; i < 6; i++) value = value * 256 + (digest[i] ?? 0);
  return value / 2 ** 48;
}

/**
 * Picks a variant by weight, deterministically for a seed: the same seed always gets
 * the same variant, so replays, retries and re-entries agree. Seed with something
 * stable per session and node, e.g. `${workflowId}:${nodeId}`. Zero-weight variants
 * are never chosen.
 *
 * @throws {Error} when there are no variants or no positive weight (the compiler rejects both).
 * @example chooseVariant([{ id: 'a', weight: 90 }, { id: 'b', weight: 10 }], 'chat:1:42:split_1') // 'a' (most seeds)
 */
export function chooseVariant<V extends { id: string; weight: number }>(variants: readonly V[], seed: string): V {
  const total = variants.reduce((sum, variant) => sum + (variant.weight > 0 ? variant.weight : 0), 0);
  if (!(total > 0)) throw new Error('chooseVariant needs at least one variant with a positive weight');
  let point = unitFromSeed(seed) * total;
  let last: V | undefined;
  for (const variant of variants) {
    if (!(variant.weight > 0)) continue;
    last = variant;
    if (point < variant.weight) return variant;
    point -= variant.weight;
  }
  // Floating-point leftovers land on the last positive variant.
  if (!last) throw new Error('chooseVariant needs at least one variant with a positive weight');
  return last;
}
