// Plugins' shared state (issue 16): one row per plugin id seen in plugins/ or PLUGINS_DIR
// (whether it is enabled, the exact permissions an admin approved, its settings, its last
// errors) and each plugin's small key-value store. Every API and worker process reads
// these through lib/plugins/state.ts and hears changes on PLUGINS_CHANNEL.

import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';

/** Permissions as a plugin declares them and an admin approves them. */
export interface PluginPermissionSet {
  network: string[];
  credentials: string[];
}

/** One recorded failure of a plugin (load error, crash, timeout), newest first. */
export interface PluginErrorRecord {
  at: string;
  message: string;
  /** Which process saw it: `api` or `worker`, with its pid. */
  process: string;
}

export const PluginSchema = defineEntity({
  name: 'Plugin',
  tableName: 'plugin',
  properties: {
    /** The plugin's id (= its folder name). */
    id: p.string().length(63).primary(),
    /** An admin's switch; a plugin runs only when enabled and its declared permissions are all approved. */
    enabled: p.boolean().default(false),
    /** The exact permissions approved (null: never approved). */
    approvedPermissions: p.json<PluginPermissionSet>().nullable(),
    /** The version whose permissions were approved. */
    approvedVersion: p.string().length(100).nullable(),
    /** Who approved (null: approved as a bundled plugin of plugins/ on first sight). */
    approvedBy: p.uuid().nullable(),
    approvedAt: p.datetime().nullable(),
    /** Settings an admin set, secret ones left out (defaults come from the plugin). */
    settings: p.json<Record<string, unknown>>(),
    /** The secret settings (`.meta({ secret: true })`) as JSON, encrypted with the secret box (context `plugin:<id>`). */
    secretSettings: p.text().nullable(),
    /** Most recent first, at most {@link PLUGIN_ERRORS_KEPT}. */
    lastErrors: p.json<PluginErrorRecord[]>(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  },
});
export type Plugin = InferEntity<typeof PluginSchema>;

export const PluginKvSchema = defineEntity({
  name: 'PluginKv',
  tableName: 'plugin_kv',
  indexes: [{ properties: ['expiresAt'] }],
  properties: {
    pluginId: p.string().length(63).primary(),
    key: p.string().length(200).primary(),
    value: p.json<unknown>(),
    /** Set by `ctx.kv.set(key, value, { ttlSeconds })`; an expired entry reads as missing. */
    expiresAt: p.datetime().nullable(),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  },
});

export const pluginEntities = [PluginSchema, PluginKvSchema];

/** The NOTIFY channel announcing a changed plugin row (payload: `{ id, reload? }`). */
export const PLUGINS_CHANNEL = 'chainflow_plugins';
export const PLUGIN_ERRORS_KEPT = 20;
/** Limits of a plugin's key-value store. */
export const PLUGIN_KV_LIMITS = { keyChars: 200, valueBytes: 64 * 1024, keys: 10_000 } as const;

export class PluginKvError extends Error {
  override name = 'PluginKvError';
}

/** Announces a change of a plugin's row (or, with `reload`, a reload asked by the process `origin`) to every process. */
export async function notifyPluginChanged(em: EntityManager, id: string, opts: { reload?: boolean; origin?: string } = {}): Promise<void> {
  await em.getConnection().execute('select pg_notify(?, ?)', [PLUGINS_CHANNEL, JSON.stringify({ id, ...opts })], 'run', em.getTransactionContext());
}

/** Records a plugin's failure (bounded list, newest first); creates no row. */
export async function recordPluginError(em: EntityManager, id: string, error: PluginErrorRecord): Promise<void> {
  await em.getConnection().execute(
    `update plugin set last_errors = (
       select coalesce(jsonb_agg(e order by n), '[]'::jsonb) from jsonb_array_elements(?::jsonb || last_errors) with ordinality as t(e, n) where n <= ?
     ), updated_at = now() where id = ?`,
    [JSON.stringify([error]), PLUGIN_ERRORS_KEPT, id],
  );
}

function checkKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0 || key.length > PLUGIN_KV_LIMITS.keyChars) {
    throw new PluginKvError(`kv keys are 1 to ${PLUGIN_KV_LIMITS.keyChars} characters (got ${typeof key === 'string' ? key.length : typeof key}).`);
  }
}

export async function kvGet(em: EntityManager, pluginId: string, key: string): Promise<unknown> {
  checkKey(key);
  const [row] = await em.getConnection().execute<{ value: unknown }[]>(
    'select value from plugin_kv where plugin_id = ? and key = ? and (expires_at is null or expires_at > now())',
    [pluginId, key],
  );
  return row?.value;
}

/** Stores a JSON value (at most 64 KB, at most 10 000 keys per plugin; expired keys are purged when it is full). */
export async function kvSet(em: EntityManager, pluginId: string, key: string, value: unknown, ttlSeconds?: number): Promise<void> {
  checkKey(key);
  const json = JSON.stringify(value ?? null);
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes > PLUGIN_KV_LIMITS.valueBytes) throw new PluginKvError(`kv value of "${key}" is ${bytes} bytes; at most ${PLUGIN_KV_LIMITS.valueBytes} are stored.`);
  if (ttlSeconds !== undefined && !(Number.isFinite(ttlSeconds) && ttlSeconds > 0)) throw new PluginKvError('kv ttlSeconds must be a positive number.');
  const conn = em.getConnection();
  const upsert = () =>
    conn.execute<{ key: string }[]>(
      `insert into plugin_kv (plugin_id, key, value, expires_at, updated_at)
       select ?, ?, ?::jsonb, ${ttlSeconds === undefined ? 'null' : `now() + make_interval(secs => ?)`}, now()
        where exists (select 1 from plugin_kv where plugin_id = ? and key = ?)
           or (select count(*) from plugin_kv where plugin_id = ?) < ?
       on conflict (plugin_id, key) do update set value = excluded.value, expires_at = excluded.expires_at, updated_at = now()
       returning key`,
      [pluginId, key, json, ...(ttlSeconds === undefined ? [] : [ttlSeconds]), pluginId, key, pluginId, PLUGIN_KV_LIMITS.keys],
    );
  if ((await upsert()).length > 0) return;
  await conn.execute('delete from plugin_kv where plugin_id = ? and expires_at <= now()', [pluginId]);
  if ((await upsert()).length > 0) return;
  throw new PluginKvError(`the key-value store of plugin "${pluginId}" is full (${PLUGIN_KV_LIMITS.keys} keys): delete keys or set them with a ttlSeconds.`);
}

export async function kvDelete(em: EntityManager, pluginId: string, key: string): Promise<void> {
  checkKey(key);
  await em.getConnection().execute('delete from plugin_kv where plugin_id = ? and key = ?', [pluginId, key]);
}
