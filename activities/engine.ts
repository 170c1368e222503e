import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { clipText, sanitizeForStorage, versionIrOf, type ChainIR, type JsonObject, type JsonValue } from '../chain/index.ts';
import { ChainVersionSchema } from '../db/entities.ts';
import { RUN_EVENTS_CHANNEL } from '../db/notify.ts';
import type { Logger } from '../lib/logger.ts';
import type { SecretBox } from '../lib/secret-box.ts';
import { createTelegramDelivery } from './telegram.ts';
import type { Channel, OutboundMessage, RunEventRecord } from '../workflows/types.ts';

export interface LoadedVersion {
  chainId: string;
  versionId: string;
  versionNumber: number | null;
  kind: 'published' | 'draft';
  ir: ChainIR;
}

export interface VariableOwners {
  user: string;
  chat: string;
  bot: string;
}

/** The persisted variables of a session's owners, by scope. */
export interface PersistedVariables {
  user: JsonObject;
  chat: JsonObject;
  bot: JsonObject;
}

/** The result of `startSession`. */
export interface StartedSession {
  version: LoadedVersion;
  variables: PersistedVariables;
}

export interface VariableWriteRecord {
  scope: 'user' | 'chat' | 'bot';
  ownerKey: string;
  name: string;
  /** null deletes the variable. */
  value: JsonValue | null;
}

export interface FlushInput {
  /** The workflow id. */
  runId: string;
  /** The Temporal run id of the execution that produced the events. */
  executionId: string;
  run: {
    chainId: string;
    versionId: string;
    versionNumber: number | null;
    channel: Channel;
    botId: string | null;
    status: 'running' | 'waiting' | 'completed' | 'failed' | 'stopped';
    currentNode: string | null;
  };
  events: RunEventRecord[];
  /** Persisted-variable writes saved in the same transaction (since the 'flush-saves-variables' patch). */
  variables?: VariableWriteRecord[];
}

export interface DeliverInput {
  channel: Channel;
  botId?: string;
  chatKey: string;
  messages: OutboundMessage[];
}

export interface EngineDeps {
  orm: MikroORM;
  logger: Logger;
  /** Decrypts bot tokens for Telegram delivery. */
  secretBox?: SecretBox | undefined;
}

async function writeVariables(em: EntityManager, writes: VariableWriteRecord[]): Promise<void> {
  const conn = em.getConnection();
  const tx = em.getTransactionContext();
  for (const w of writes) {
    if (w.value === null) {
      await conn.execute('delete from variable where scope = ? and owner_key = ? and name = ?', [w.scope, w.ownerKey, w.name], 'run', tx);
    } else {
      await conn.execute(
        `insert into variable (id, scope, owner_key, name, value, updated_at) values (?, ?, ?, ?, ?::jsonb, now())
         on conflict (scope, owner_key, name) do update set value = excluded.value, updated_at = now()`,
        [randomUUID(), w.scope, w.ownerKey, w.name, JSON.stringify(w.value)],
        'run',
        tx,
      );
    }
  }
}

/** The last write of each variable (one statement may not upsert the same row twice). */
function lastWrites(writes: VariableWriteRecord[]): VariableWriteRecord[] {
  const last = new Map<string, VariableWriteRecord>();
  for (const w of writes) {
    const key = JSON.stringify([w.scope, w.ownerKey, w.name]);
    last.delete(key);
    last.set(key, w);
  }
  return [...last.values()];
}

/**
 * SQLSTATE classes that no retry can fix: 22 data exception (e.g. 22P05 untranslatable
 * character, 22P02 invalid JSON), 54 program limit exceeded (a row or value too big).
 */
const PERMANENT_SQLSTATE = /^(22|54)/;

/**
 * A database error the same input hits again: a non-retryable failure (`persistence_failed`)
 * with a clipped message, so the session ends with a clear error instead of retrying.
 */
function permanentFailure(err: unknown, what: string): unknown {
  const e = err as { sqlState?: unknown; code?: unknown; message?: unknown } | null;
  const state = typeof e?.sqlState === 'string' ? e.sqlState : typeof e?.code === 'string' ? e.code : '';
  if (!PERMANENT_SQLSTATE.test(state)) return err;
  return ApplicationFailure.nonRetryable(`${what} failed permanently (SQLSTATE ${state}): ${clipText(String(e?.message ?? err), 500)}`, 'persistence_failed');
}

/** IRs by version id, per worker process. Versions are immutable, so entries never go stale. */
const irCache = new Map<string, LoadedVersion>();
const IR_CACHE_LIMIT = 500;

/**
 * The engine's activities: chain versions, persisted variables, run events, delivery.
 * `loadChainVersion`, `startSession` and `flushRunEvents` run as local activities.
 */
export function createEngineActivities({ orm, logger, secretBox }: EngineDeps) {
  const deliverTelegram = createTelegramDelivery({ orm, logger, secretBox });
  const activities = {
    /** Loads a chain version's IR by id (cached per worker). */
    async loadChainVersion(versionId: string): Promise<LoadedVersion> {
      const cached = irCache.get(versionId);
      if (cached) return cached;
      const row = await orm.em.fork().findOne(ChainVersionSchema, { id: versionId });
      if (!row) {
        throw ApplicationFailure.nonRetryable(`Chain version ${versionId} does not exist (deleted?).`, 'version_not_found');
      }
      const loaded: LoadedVersion = {
        chainId: row.chainId,
        versionId: row.id,
        versionNumber: row.number ?? null,
        kind: row.kind,
        ir: versionIrOf(row),
      };
      if (irCache.size >= IR_CACHE_LIMIT) irCache.delete(irCache.keys().next().value as string);
      irCache.set(versionId, loaded);
      return loaded;
    },

    /**
     * What a new session needs before its first step, as one local activity (since the
     * 'local-session-start' patch): its version's IR (cached) and its owners' persisted
     * variables, read at the same time. Before, the variables were a remote activity: two
     * more trips through the server at every session start.
     */
    async startSession(input: { versionId: string; owners: VariableOwners }): Promise<StartedSession> {
      const [version, variables] = await Promise.all([activities.loadChainVersion(input.versionId), activities.loadVariables(input.owners)]);
      return { version, variables };
    },

    /** The persisted user/chat/bot variables of a session's owners. */
    async loadVariables(owners: VariableOwners): Promise<PersistedVariables> {
      const rows = await orm.em.getConnection().execute<{ scope: 'user' | 'chat' | 'bot'; name: string; value: JsonValue }[]>(
        `select scope, name, value from variable
          where (scope = 'user' and owner_key = ?) or (scope = 'chat' and owner_key = ?) or (scope = 'bot' and owner_key = ?)`,
        [owners.user, owners.chat, owners.bot],
      );
      const result: PersistedVariables = { user: {}, chat: {}, bot: {} };
      for (const row of rows) result[row.scope][row.name] = row.value;
      return result;
    },

    /** Upserts (or deletes, for null) persisted variables. */
    async saveVariables(writes: VariableWriteRecord[]): Promise<void> {
      if (writes.length === 0) return;
      const clean = sanitizeForStorage(writes);
      await orm.em
        .fork()
        .transactional(async (em) => writeVariables(em, clean))
        .catch((err: unknown) => {
          throw permanentFailure(err, 'Saving variables');
        });
    },

    /**
     * Writes buffered run events and keeps the run's index row current. Idempotent: a
     * retried flush writes the same rows again. A (run, execution, seq) already present is
     * overwritten: when the server rejects a workflow task (a signal arrived as it
     * continued as new), local activities of the rejected task have already run, and the
     * replay that follows may number different events with the same seq — the replayed
     * ones are what history says happened.
     */
    async flushRunEvents(raw: FlushInput): Promise<void> {
      // What an HTTP response, an LLM or a plugin returned may hold code points
      // PostgreSQL cannot store (NUL, lone surrogates): replaced here, the last line.
      const input = sanitizeForStorage(raw);
      const r = input.run;
      const closed = r.status === 'completed' || r.status === 'failed' || r.status === 'stopped';
      // One statement, so one round trip (it commits as one transaction): the run's index
      // row, the variable writes and the events, each a data-modifying CTE, and the live
      // events NOTIFY (delivered on commit, so readers see the rows). Rows travel as JSON
      // documents: the statement and its parameters have the same shape for any number of
      // events.
      const events = input.events.map((e) => ({ seq: e.seq, type: e.type, node_id: e.nodeId ?? null, payload: e.payload, at: new Date(e.at).toISOString() }));
      const variables = lastWrites(input.variables ?? []).map((w) => ({ id: randomUUID(), scope: w.scope, owner_key: w.ownerKey, name: w.name, value: w.value, remove: w.value === null }));
      await orm.em
        .getConnection()
        .execute(
          `with run_row as (
             insert into run (id, chain_id, version_id, version_number, channel, bot_id, status, current_node, started_at, updated_at, closed_at)
             values (?, ?, ?, ?, ?, ?, ?, ?, now(), now(), ${closed ? 'now()' : 'null'})
             on conflict (id) do update set version_id = excluded.version_id, version_number = excluded.version_number,
               status = excluded.status, current_node = excluded.current_node, updated_at = now(),
               closed_at = ${closed ? 'now()' : 'null'},
               started_at = case when run.closed_at is not null and excluded.closed_at is null then now() else run.started_at end
             returning 1
           ),
           writes as (
             select * from jsonb_to_recordset(?::jsonb) as w(id uuid, scope text, owner_key text, name text, value jsonb, remove boolean)
           ),
           removed as (
             delete from variable v using writes w
              where w.remove and v.scope = w.scope and v.owner_key = w.owner_key and v.name = w.name
             returning 1
           ),
           saved as (
             insert into variable (id, scope, owner_key, name, value, updated_at)
             select id, scope, owner_key, name, value, now() from writes where not remove
             on conflict (scope, owner_key, name) do update set value = excluded.value, updated_at = now()
             returning 1
           ),
           events as (
             insert into run_event (run_id, execution_id, seq, type, node_id, payload, at)
             select ?, ?, e.seq, e.type, e.node_id, e.payload, e.at
               from jsonb_to_recordset(?::jsonb) as e(seq int, type text, node_id text, payload jsonb, at timestamptz)
             on conflict (run_id, execution_id, seq) do update
               set type = excluded.type, node_id = excluded.node_id, payload = excluded.payload, at = excluded.at
             returning 1
           )
           select pg_notify(?, json_build_object('runId', ?::text, 'chainId', ?::text)::text) where ?::boolean`,
          [
            input.runId, r.chainId, r.versionId, r.versionNumber, r.channel, r.botId, r.status, r.currentNode,
            JSON.stringify(variables),
            input.runId, input.executionId, JSON.stringify(events),
            RUN_EVENTS_CHANNEL, input.runId, r.chainId, events.length > 0,
          ],
          'run',
        )
        .catch((err: unknown) => {
          throw permanentFailure(err, 'Saving the session (run events and variables)');
        });
      logger.debug({ runId: input.runId, events: input.events.length }, 'run events flushed');
    },

    /**
     * Delivers replies on channels with an external service: Bot API bots through
     * activities/telegram.ts. User accounts (`telegram_user`) are delivered on task queue
     * `account:{botId}` by the worker of the process holding the account's connection
     * (activities/telegram-account.ts); one reaching this worker means no process holds it. The web channel needs no
     * delivery: its replies are answered through the `send` Update and kept in the run's
     * transcript, which the web chat reads.
     */
    async deliverMessage(input: DeliverInput): Promise<{ delivered: string[] }> {
      if (input.channel === 'telegram_bot') return deliverTelegram(input);
      if (input.channel === 'telegram_user') {
        throw ApplicationFailure.retryable(`No process holds the connection of user account ${input.botId ?? '?'}; the reply waits for it.`, 'telegram_unavailable');
      }
      throw ApplicationFailure.nonRetryable(
        `The ${input.channel} channel is not connected in this installation yet; ${input.messages.length} message(s) were not sent.`,
        'channel_unavailable',
      );
    },
  };
  return activities;
}

export type EngineActivities = ReturnType<typeof createEngineActivities>;
