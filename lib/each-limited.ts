/**
 * Runs `fn` over `items`, at most `width` at a time, and returns the results in the
 * order of `items` (signals and queries to many sessions, without opening hundreds of
 * calls at once). A rejection rejects the whole call; calls already started still run.
 *
 * @example
 * const states = await eachLimited(runIds, 8, (id) => queryState(temporal, id));
 */
export async function eachLimited<T, R>(items: readonly T[], width: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, lane));
  return results;
}
