import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';

/**
 * The send record of a non-idempotent HTTP request (POST, PATCH) whose node did not opt in
 * to `retryUnsafe` (issue 11 row 8). The activity inserts the row before it sends, keyed by
 * the call's Idempotency-Key and the activity it runs in (Temporal run id and activity id:
 * the same for every retry of this call, different for a later session that reuses the
 * workflow id and so the key), and marks the outcome when it knows it:
 * `retry` (the request never left, or the server answered 429/5xx: sending again is what
 * the retry is for) or `done` (the activity returned a result). A later attempt that finds
 * the row without an outcome (the worker stopped or the activity timed out mid-request)
 * or `done` does not send again: the request may have reached the server.
 * Old rows go with the run-event retention (activities/cleanup.ts).
 */
export const HttpAttemptSchema = defineEntity({
  name: 'HttpAttempt',
  tableName: 'http_attempt',
  indexes: [{ properties: ['createdAt'] }],
  properties: {
    /** `cf-` and 32 hex digits: a hash of the Idempotency-Key, the Temporal run id and the activity id ({@link httpAttemptKey}). */
    key: p.string().length(64).primary(),
    /** The Idempotency-Key the request carries (activities/effects.ts `idempotencyKey`). */
    idempotencyKey: p.string().length(64).index(),
    runId: p.string().length(300),
    nodeId: p.string().length(200),
    /** null while the request may be in flight; `retry` or `done` once known. */
    outcome: p.string().length(10).nullable(),
    /** Activity attempts that sent the request. */
    attempts: p.integer().default(1),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
  },
});
export type HttpAttempt = InferEntity<typeof HttpAttemptSchema>;

/** The record key of one call: its Idempotency-Key within one scheduled activity (all its retries). */
export function httpAttemptKey(idempotencyKey: string, workflowRunId: string, activityId: string): string {
  return `cf-${createHash('sha256').update(`${idempotencyKey}\n${workflowRunId}\n${activityId}`).digest('hex').slice(0, 32)}`;
}

/**
 * Claims the right to send: inserts the record, or takes over one whose outcome says a
 * retry may send again. False when an earlier attempt may have sent it (no outcome, or
 * `done`). One statement, so two attempts running at once cannot both claim.
 */
export async function claimHttpAttempt(em: EntityManager, call: { key: string; idempotencyKey: string; runId: string; nodeId: string }): Promise<boolean> {
  const rows = await em.getConnection().execute<{ key: string }[]>(
    `insert into http_attempt (key, idempotency_key, run_id, node_id, outcome, attempts, created_at, updated_at) values (?, ?, ?, ?, null, 1, now(), now())
      on conflict (key) do update set outcome = null, attempts = http_attempt.attempts + 1, updated_at = now() where http_attempt.outcome = 'retry'
      returning key`,
    [call.key, call.idempotencyKey, call.runId, call.nodeId],
  );
  return rows.length === 1;
}

/** Records what became of a claimed send. */
export async function settleHttpAttempt(em: EntityManager, key: string, outcome: 'retry' | 'done'): Promise<void> {
  await em.getConnection().execute(`update http_attempt set outcome = ?, updated_at = now() where key = ?`, [outcome, key], 'run');
}
