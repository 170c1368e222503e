import type { EntityManager } from '@mikro-orm/postgresql';

/** The PostgreSQL NOTIFY channel that announces flushed run events (payload: {runId, chainId}). */
export const RUN_EVENTS_CHANNEL = 'chainflow_run_events';

/** The NOTIFY channel that announces a streamed reply's new text (payload: {runId, chainId, replyId}; the text is in `reply_partial`). */
export const REPLY_PARTIALS_CHANNEL = 'chainflow_reply_partials';

/** The NOTIFY channel that announces a change of a user's access (payload: {userId}). */
export const ACCESS_CHANNEL = 'chainflow_access';

/**
 * Tells every API replica that what a user may do changed (a grant, role or status, or
 * all their sessions ended), so each re-checks that user's live subscriptions
 * (`api/live/`). The notification is delivered once the change is committed: inside a
 * transaction it goes out with the commit; otherwise the entity manager's pending
 * changes are flushed first.
 *
 * @example await notifyAccessChanged(em, user.id);
 */
export async function notifyAccessChanged(em: EntityManager, userId: string): Promise<void> {
  if (!em.isInTransaction()) await em.flush();
  await em.getConnection().execute(`select pg_notify(?, ?)`, [ACCESS_CHANNEL, JSON.stringify({ userId })], 'all', em.getTransactionContext());
}
/** The PostgreSQL NOTIFY channel that announces a changed bot (payload: its id); API processes reconcile their gateways. */
export const BOTS_CHANNEL = 'chainflow_bots';
