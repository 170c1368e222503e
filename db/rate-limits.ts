import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';

/**
 * One rate-limit counter, shared by every API replica: a GCRA "theoretical arrival time"
 * per key (`chat:client:<ip>`, `hook:chain:<id>`, …). A row whose `tat` lies in the past
 * counts as no row at all; {@link cleanRateLimits} deletes those.
 */
export const RateLimitSchema = defineEntity({
  name: 'RateLimit',
  tableName: 'rate_limit',
  indexes: [{ properties: ['tat'] }],
  properties: {
    key: p.string().length(200).primary(),
    tat: p.datetime(),
  },
});
export type RateLimit = InferEntity<typeof RateLimitSchema>;

/** At most `limit` requests in any `windowSeconds` (a burst of `limit`, then one every window/limit). */
export interface RateRule {
  limit: number;
  windowSeconds: number;
}

export interface RateDecision {
  allowed: boolean;
  /** Requests still allowed right now (0 when refused). */
  remaining: number;
  /** Seconds until the next request would be allowed (0 when allowed), rounded up to whole seconds. */
  retryAfterSeconds: number;
  /** The same wait in milliseconds, not rounded to seconds (pacing needs sub-second waits). */
  retryAfterMs: number;
}

/**
 * Counts one request against `key` and says whether it is allowed, in one atomic
 * statement (GCRA): the row's arrival time moves on by window/limit only when the result
 * stays within the window, so concurrent requests on any number of replicas can never
 * pass more than `limit` at once. The clock is the database's, the same for every replica.
 */
export async function hitRateLimit(em: EntityManager, key: string, rule: RateRule): Promise<RateDecision> {
  const emission = rule.windowSeconds / rule.limit;
  const conn = em.getConnection();
  const rows = await conn.execute<{ ahead: string | number }[]>(
    `insert into rate_limit (key, tat) values (?, clock_timestamp() + make_interval(secs => ?))
     on conflict (key) do update
        set tat = greatest(rate_limit.tat, clock_timestamp()) + make_interval(secs => ?)
      where greatest(rate_limit.tat, clock_timestamp()) + make_interval(secs => ?) <= clock_timestamp() + make_interval(secs => ?)
     returning extract(epoch from (tat - clock_timestamp())) as ahead`,
    [key, emission, emission, emission, rule.windowSeconds],
  );
  const hit = rows[0];
  if (hit) {
    const ahead = Number(hit.ahead);
    return { allowed: true, remaining: Math.max(0, Math.floor((rule.windowSeconds - ahead) / emission + 1e-9)), retryAfterSeconds: 0, retryAfterMs: 0 };
  }
  const [row] = await conn.execute<{ ahead: string | number }[]>(`select extract(epoch from (tat - clock_timestamp())) as ahead from rate_limit where key = ?`, [key]);
  const wait = row ? Number(row.ahead) + emission - rule.windowSeconds : emission;
  return { allowed: false, remaining: 0, retryAfterSeconds: Math.max(1, Math.ceil(wait)), retryAfterMs: Math.max(1, Math.ceil(wait * 1000)) };
}

/**
 * Takes back one request counted by {@link hitRateLimit} (when a later check refused the
 * operation it was counted for): the arrival time moves back by window/limit, never
 * before now. Concurrent requests stay counted, since each one's step is its own.
 */
export async function refundRateLimit(em: EntityManager, key: string, rule: RateRule): Promise<void> {
  await em.getConnection().execute(
    `update rate_limit set tat = greatest(clock_timestamp(), tat - make_interval(secs => ?)) where key = ?`,
    [rule.windowSeconds / rule.limit, key],
    'run',
  );
}

/** Deletes counters that have run out (their arrival time passed): they would allow a full burst anyway. */
export async function cleanRateLimits(em: EntityManager): Promise<number> {
  const res = await em.getConnection().execute<{ affectedRows?: number }>(`delete from rate_limit where tat < clock_timestamp()`, [], 'run');
  return Number((res as { affectedRows?: number }).affectedRows ?? 0);
}
