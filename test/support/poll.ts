// The one poll-until helper of the tests: no fixed sleeps, the first success returns at once.
import { setTimeout as sleep } from 'node:timers/promises';

export interface PollOptions {
  /** Give up after this long (default 20 s). */
  timeoutMs?: number;
  /** Pause between probes (default 50 ms). */
  intervalMs?: number;
  /** Checked after each miss: a message here fails at once (the awaited thing can no longer happen). */
  abort?: () => string | undefined;
}

/**
 * Polls `probe` until it returns a value other than undefined and returns that value. A
 * probe that throws counts as a miss (the last error is named when time runs out).
 *
 * @example
 *   const row = await eventually(async () => (await em.findOne(Run, id)) ?? undefined, 'the run row');
 */
export async function eventually<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, options: number | PollOptions = {}): Promise<T> {
  const { timeoutMs = 20_000, intervalMs = 50, abort } = typeof options === 'number' ? { timeoutMs: options } : options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    const aborted = abort?.();
    if (aborted !== undefined) throw new Error(aborted);
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs / 1000}s waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
    await sleep(intervalMs);
  }
}
