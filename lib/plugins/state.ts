// The plugins' shared state in one process (API or worker): the `plugin` rows (enabled,
// approved permissions, settings), kept in step with PostgreSQL through LISTEN on
// PLUGINS_CHANNEL and a poll, the policy that decides which loaded plugins may run, and
// the PluginServices (key-value store, credentials, settings) plugin threads call.
//
// Policy (docs/plugins.md): a plugin runs only when its row is enabled and every
// permission its loaded version declares is among the approved ones. A plugin of the
// repository's own plugins/ folder (shipped and reviewed with Chainflow) that only adds
// node types is approved and enabled with what it declares the first time it is seen; one
// with hooks or Telegram commands acts on every bot (the spam filter would drop links
// everywhere), so it waits, disabled, for an admin, as does any plugin found in PLUGINS_DIR. A later version declaring more than was approved waits for a
// new approval: nothing new is granted silently.

import { randomUUID } from 'node:crypto';
import { resolve, sep } from 'node:path';
import postgres from 'postgres';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Json } from '../plugin-sdk.ts';
import type { SecretBox } from '../secret-box.ts';
import { loadCredential } from '../../db/credential-store.ts';
import { kvDelete, kvGet, kvSet, PLUGINS_CHANNEL, PluginSchema, recordPluginError, type Plugin, type PluginPermissionSet } from '../../db/plugins.ts';
import { redactText } from '../../activities/effects.ts';
import { BUILTIN_PLUGINS_DIR, type PluginRegistry, type PluginServices, type PluginStatus } from './host.ts';
import type { PluginManifest } from './protocol.ts';

/** Why a loaded plugin does not run: `disabled` (switched off or never approved) or `needs_approval` (declares unapproved permissions). */
export type PluginPolicy = { runs: true } | { runs: false; status: 'disabled' | 'needs_approval'; message: string; unapproved: PluginPermissionSet };

export const secretContext = (id: string) => `plugin:${id}`;

/** The setting keys a plugin marks `.meta({ secret: true })`. */
export function secretKeysOf(manifest: PluginManifest | undefined): string[] {
  const properties = (manifest?.settingsSchema?.properties ?? {}) as Record<string, { secret?: unknown }>;
  return Object.entries(properties)
    .filter(([, schema]) => schema && schema.secret === true)
    .map(([key]) => key);
}

/** What `declared` asks for beyond `approved`. */
export function unapprovedPermissions(declared: PluginPermissionSet, approved: PluginPermissionSet | null | undefined): PluginPermissionSet {
  return {
    network: declared.network.filter((host) => !(approved?.network ?? []).includes(host)),
    credentials: declared.credentials.filter((name) => !(approved?.credentials ?? []).includes(name)),
  };
}

const none = (set: PluginPermissionSet) => set.network.length === 0 && set.credentials.length === 0;
const describe = (set: PluginPermissionSet) =>
  [set.network.length ? `network ${set.network.join(', ')}` : '', set.credentials.length ? `credentials ${set.credentials.join(', ')}` : ''].filter(Boolean).join('; ');

export interface PluginStateOptions {
  orm: MikroORM;
  secretBox?: SecretBox | undefined;
  /** For LISTEN (its own connection); without it, changes of other processes arrive with the poll only. */
  databaseUrl?: string | undefined;
  /** How often rows are re-read besides notifications (ms). */
  pollMs?: number;
  /** `api` or `worker`: recorded with errors. */
  processName: string;
  /** Folders whose plugins are approved with what they declare on first sight (default: the repository's plugins/). */
  bundledDirs?: string[];
  log?: (message: string) => void;
}

export class PluginState {
  private rows = new Map<string, Plugin>();
  private secrets = new Map<string, Record<string, Json>>();
  /** Secret values handed to plugins in this process (settings, credentials): never in logs, errors or results. */
  private readonly needles = new Set<string>();
  private registry: PluginRegistry | undefined;
  private sql: postgres.Sql | undefined;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private syncing: Promise<void> | undefined;
  private resync = false;
  private closed = false;
  private readonly options: PluginStateOptions;
  private readonly bundled: string[];
  /** Names this process in reload notifications (it reloads itself before it notifies). */
  readonly origin = randomUUID();

  constructor(options: PluginStateOptions) {
    this.options = options;
    this.bundled = (options.bundledDirs ?? [BUILTIN_PLUGINS_DIR]).map((dir) => resolve(dir) + sep);
  }

  /** Options for the PluginRegistry this state governs. */
  registryOptions(): { enabled: (id: string) => boolean; disabledMessage: (id: string) => string; services: PluginServices; onError: (id: string, message: string) => void } {
    return {
      enabled: (id) => this.policy(id).runs,
      disabledMessage: (id) => {
        const policy = this.policy(id);
        return policy.runs ? '' : policy.message;
      },
      services: this.services(),
      onError: (id, message) => void this.recordError(id, message),
    };
  }

  /** Reads the rows, then follows the registry (call once, before `registry.start()`). */
  async start(registry: PluginRegistry): Promise<void> {
    this.registry = registry;
    await this.reload();
    this.unsubscribe = registry.onChange(() => this.schedule());
    if (this.options.databaseUrl) {
      const sql = postgres(this.options.databaseUrl, { max: 1, onnotice: () => {}, connection: { application_name: 'chainflow-plugins' } });
      this.sql = sql;
      await sql.listen(
        PLUGINS_CHANNEL,
        (payload) => void this.notified(payload),
        // After a reconnect, notifications sent meanwhile are lost: read everything again.
        () => this.schedule(),
      );
    }
    this.timer = setInterval(() => this.schedule(), this.options.pollMs ?? 5000);
    this.timer.unref();
  }

  /** Once the registry loaded its plugins: rows for the new ones, then the policy applies. */
  async ready(): Promise<void> {
    this.schedule();
    await this.syncing;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.unsubscribe?.();
    await this.syncing;
    await this.sql?.end({ timeout: 1 });
  }

  row(id: string): Plugin | undefined {
    return this.rows.get(id);
  }

  /** Whether the plugin's folder is in the repository's plugins/ (bundled with Chainflow). */
  isBundled(status: Pick<PluginStatus, 'folder'> | undefined): boolean {
    if (!status) return false;
    const folder = resolve(status.folder) + sep;
    return this.bundled.some((dir) => folder.startsWith(dir));
  }

  /**
   * Whether a plugin is enabled with what it declares when first seen: bundled, and acting
   * only where a chain uses its node types (no hooks, no Telegram commands, which would
   * change every bot of the installation without anyone asking).
   */
  enablesByDefault(status: Pick<PluginStatus, 'folder' | 'manifest'> | undefined): boolean {
    if (!this.isBundled(status)) return false;
    const manifest = status?.manifest;
    if (!manifest) return false;
    return manifest.commands.length === 0 && !manifest.hooks.beforeMessage && !manifest.hooks.afterMessage && !manifest.hooks.memberJoined;
  }

  /** Whether a loaded plugin may run, and why not. */
  policy(id: string): PluginPolicy {
    const status = this.registry?.get(id);
    const declared = status?.manifest?.permissions ?? { network: [], credentials: [] };
    const row = this.rows.get(id);
    const unapprovedYet = { runs: false, status: 'disabled', message: `Plugin "${id}" is disabled: it is not yet approved; an admin reviews its permissions and enables it in Plugins.`, unapproved: declared } as const;
    if (!row) return this.enablesByDefault(status) ? { runs: true } : unapprovedYet;
    if (!row.enabled && !row.approvedPermissions) return unapprovedYet;
    const unapproved = unapprovedPermissions(declared, row.approvedPermissions);
    if (!row.enabled) return { runs: false, status: 'disabled', message: `Plugin "${id}" is disabled; an admin enables it in Plugins.`, unapproved };
    if (!row.approvedPermissions || !none(unapproved)) {
      return {
        runs: false,
        status: 'needs_approval',
        message: `Plugin "${id}" is disabled until an admin approves the permissions its version ${status?.manifest?.version ?? ''} declares beyond the approved ones (${describe(unapproved) || 'none approved yet'}).`,
        unapproved,
      };
    }
    return { runs: true };
  }

  /** Settings as the plugin sees them (defaults are added by the registry). */
  settings(id: string): Record<string, Json> {
    return { ...((this.rows.get(id)?.settings ?? {}) as Record<string, Json>), ...(this.secrets.get(id) ?? {}) };
  }

  /** Replaces secret values this process knows of in a text (logs, errors, results). */
  redact(text: string): string {
    return this.needles.size ? redactText(text, [...this.needles]) : text;
  }

  secretNeedles(): string[] {
    return [...this.needles];
  }

  services(): PluginServices {
    const em = () => this.options.orm.em.fork();
    return {
      kvGet: async (id, key) => (await kvGet(em(), id, key)) as Json | undefined,
      kvSet: (id, key, value, ttlSeconds) => kvSet(em(), id, key, value, ttlSeconds),
      kvDelete: (id, key) => kvDelete(em(), id, key),
      credential: async (id, name) => {
        const approved = this.rows.get(id)?.approvedPermissions?.credentials ?? [];
        if (!approved.includes(name)) throw new Error(`Plugin "${id}" may not use credential "${name}": an admin has not approved it (Plugins).`);
        const box = this.options.secretBox;
        if (!box) throw new Error('credentials are stored encrypted and this process has no key (CHAINFLOW_SECRET_KEY)');
        const credential = await loadCredential(em(), box, name);
        if (credential.value.length >= 4) this.needles.add(credential.value);
        return credential.value;
      },
      settings: (id) => this.settings(id),
    };
  }

  /** Re-reads every row now (after a change this process made). */
  async reload(): Promise<void> {
    const rows = await this.options.orm.em.fork().find(PluginSchema, {});
    const secrets = new Map<string, Record<string, Json>>();
    for (const row of rows) {
      if (!row.secretSettings || !this.options.secretBox) continue;
      try {
        const values = JSON.parse(this.options.secretBox.decrypt(row.secretSettings, secretContext(row.id))) as Record<string, Json>;
        for (const value of Object.values(values)) if (typeof value === 'string' && value.length >= 4) this.needles.add(value);
        secrets.set(row.id, values);
      } catch (error) {
        this.options.log?.(`plugin ${row.id}: its secret settings cannot be decrypted (${error instanceof Error ? error.message : String(error)})`);
      }
    }
    const before = JSON.stringify([...this.rows.values()].map((row) => [row.id, row.enabled, row.approvedPermissions, row.settings, row.secretSettings]));
    this.rows = new Map(rows.map((row) => [row.id, row]));
    this.secrets = secrets;
    const after = JSON.stringify(rows.map((row) => [row.id, row.enabled, row.approvedPermissions, row.settings, row.secretSettings]));
    if (before !== after) this.registry?.policyChanged();
  }

  private async notified(payload: string): Promise<void> {
    let note: { id?: string; reload?: boolean; origin?: string };
    try {
      note = JSON.parse(payload) as typeof note;
    } catch {
      return;
    }
    this.schedule();
    if (note.reload && note.id && note.origin !== this.origin && this.registry) await this.registry.reload(note.id).catch(() => undefined);
  }

  private schedule(): void {
    if (this.closed) return;
    if (this.syncing) {
      this.resync = true;
      return;
    }
    this.syncing = this.sync()
      .catch((error: unknown) => this.options.log?.(`plugin state: ${error instanceof Error ? error.message : String(error)}`))
      .finally(() => {
        this.syncing = undefined;
        if (this.resync) {
          this.resync = false;
          this.schedule();
        }
      });
  }

  /** Rows for plugins seen for the first time (bundled node-type-only ones approved as declared), then a fresh read. */
  private async sync(): Promise<void> {
    await this.reload();
    const fresh = (this.registry?.list() ?? []).filter((status) => status.manifest && !this.rows.has(status.id));
    if (fresh.length === 0) return;
    const conn = this.options.orm.em.getConnection();
    for (const status of fresh) {
      const bundled = this.enablesByDefault(status);
      const manifest = status.manifest as PluginManifest;
      await conn.execute(
        `insert into plugin (id, enabled, approved_permissions, approved_version, approved_at, settings, last_errors, created_at, updated_at)
         values (?, ?, ?::jsonb, ?, ${bundled ? 'now()' : 'null'}, '{}', '[]', now(), now()) on conflict (id) do nothing`,
        [status.id, bundled, bundled ? JSON.stringify(manifest.permissions) : null, bundled ? manifest.version : null],
      );
    }
    await conn.execute('select pg_notify(?, ?)', [PLUGINS_CHANNEL, JSON.stringify({ id: fresh[0]?.id })]);
    await this.reload();
  }

  private async recordError(id: string, message: string): Promise<void> {
    try {
      await recordPluginError(this.options.orm.em.fork(), id, { at: new Date().toISOString(), message: this.redact(message).slice(0, 1000), process: `${this.options.processName} ${process.pid}` });
    } catch {
      // The error stays in this process's registry (GET /plugins shows both).
    }
  }
}

let current: PluginState | undefined;

/** The plugin state of this process (set by cli/services.ts, or a test). */
export function setProcessPluginState(state: PluginState | undefined): void {
  current = state;
}

export function processPluginState(): PluginState | undefined {
  return current;
}
