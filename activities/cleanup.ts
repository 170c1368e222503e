import { Context } from '@temporalio/activity';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '../lib/logger.ts';

/** Days each kind of row is kept; 0 keeps that kind forever (config.ts, RETENTION_*). */
export interface RetentionSettings {
  /** audit_entry rows, by `at`. */
  auditEntryDays: number;
  /** run_event rows of runs closed that long ago (events of live runs are kept); also http_attempt and telegram_send records that old. */
  runEventDays: number;
  /** refresh_token rows created that long ago that are expired or superseded (the newest of a live family is kept). */
  refreshTokenDays: number;
  /** user/chat variables not written that long (bot variables of existing chains are kept). */
  variableDays: number;
  /** invites used, or expired, that long ago. */
  inviteDays: number;
  /** draft chain_version rows (simulator) that old, unless a live run uses them. */
  draftVersionDays: number;
}

export type CleanupCounts = Record<'auditEntries' | 'runEvents' | 'refreshTokens' | 'variables' | 'invites' | 'draftVersions' | 'httpAttempts' | 'telegramSends', number>;

export interface CleanupDeps {
  orm: MikroORM;
  logger: Logger;
}

/** Rows deleted per statement, so no delete holds locks on a big table for long. */
const BATCH = 5000;

/**
 * One `where` per kind, `$1` the cutoff (now − days). Each names what stays: rows a live
 * session, a live login or an existing chain still uses are never matched.
 */
const KINDS: Array<{ key: keyof CleanupCounts; days: keyof RetentionSettings | { fixed: number }; table: string; id: string; where: string }> = [
  { key: 'auditEntries', days: 'auditEntryDays', table: 'audit_entry', id: 'id', where: `t.at < $1` },
  {
    key: 'runEvents',
    days: 'runEventDays',
    table: 'run_event',
    id: 'id',
    // Events of closed runs (or of runs no longer indexed); a waiting session's transcript stays.
    where: `t.at < $1 and not exists (select 1 from run r where r.id = t.run_id and (r.closed_at is null or r.closed_at >= $1))`,
  },
  {
    key: 'refreshTokens',
    days: 'refreshTokenDays',
    table: 'refresh_token',
    id: 'id',
    // Old and expired, or superseded by a newer token of its family; the newest of a live family stays.
    where: `t.created_at < $1 and (t.expires_at < $1 or exists (select 1 from refresh_token n where n.family_id = t.family_id and n.created_at > t.created_at))`,
  },
  {
    key: 'variables',
    days: 'variableDays',
    table: 'variable',
    id: 'id',
    where: `t.updated_at < $1 and not (t.scope = 'bot' and exists (select 1 from chain c where 'chain:' || c.id::text = t.owner_key))`,
  },
  { key: 'invites', days: 'inviteDays', table: 'invite', id: 'id', where: `((t.used_at is not null and t.used_at < $1) or (t.used_at is null and t.expires_at < $1))` },
  {
    key: 'draftVersions',
    days: 'draftVersionDays',
    table: 'chain_version',
    id: 'id',
    where: `t.kind = 'draft' and t.created_at < $1
      and not exists (select 1 from run r where r.version_id = t.id and r.status in ('running', 'waiting'))
      and not exists (select 1 from chain c where c.active_version_id = t.id)`,
  },
  // Send records of POST/PATCH requests (activities/http.ts): no retry runs that long.
  { key: 'httpAttempts', days: 'runEventDays', table: 'http_attempt', id: 'key', where: `t.created_at < $1` },
  // Telegram send records (activities/telegram.ts): needed only while their session runs
  // (a retried delivery, an edit of the last message). Gone an hour after the session that
  // sent them ended (its run row closed after the send: `run_id` is `{workflowId}/{execution}`),
  // and in any case after RETENTION_RUN_EVENT_DAYS.
  { key: 'telegramSends', days: { fixed: 1 / 24 }, table: 'telegram_send', id: 'ctid', where: `exists (select 1 from run r where r.id = split_part(t.run_id, '/', 1) and r.closed_at is not null and r.closed_at >= t.sent_at and r.closed_at < $1)` },
  { key: 'telegramSends', days: 'runEventDays', table: 'telegram_send', id: 'ctid', where: `t.sent_at < $1` },
];

/** The daily retention cleanup (the `retentionCleanup` workflow, run by a Temporal Schedule). */
export function createCleanupActivities({ orm, logger }: CleanupDeps) {
  return {
    async cleanupRetention(settings: RetentionSettings): Promise<CleanupCounts> {
      const counts: CleanupCounts = { auditEntries: 0, runEvents: 0, refreshTokens: 0, variables: 0, invites: 0, draftVersions: 0, httpAttempts: 0, telegramSends: 0 };
      const conn = orm.em.getConnection();
      for (const kind of KINDS) {
        const days = typeof kind.days === 'object' ? kind.days.fixed : settings[kind.days];
        if (!(days > 0)) continue;
        const cutoff = new Date(Date.now() - days * 86_400_000);
        for (;;) {
          const sql = `delete from ${kind.table} where ${kind.id} in (select t.${kind.id} from ${kind.table} t where ${kind.where} limit ${BATCH})`;
          const params = Array.from({ length: (sql.match(/\$1/g) ?? []).length }, () => cutoff);
          const result = await conn.execute<{ affectedRows: number }>(sql.replaceAll('$1', '?'), params, 'run');
          const deleted = result.affectedRows;
          counts[kind.key] += deleted;
          Context.current().heartbeat(counts);
          if (deleted < BATCH) break;
        }
      }
      logger.info({ counts }, 'retention cleanup done');
      return counts;
    },
  };
}
