import type { EntityManager } from '@mikro-orm/postgresql';
import type { Json } from '../../lib/plugin-sdk.ts';
import { PluginSchema, notifyPluginChanged, type Plugin, type PluginPermissionSet } from '../../db/plugins.ts';
import type { PluginRegistry, PluginStatus } from '../../lib/plugins/host.ts';
import { processPlugins } from '../../lib/plugins/process.ts';
import { processPluginState, secretContext, secretKeysOf, unapprovedPermissions, type PluginState } from '../../lib/plugins/state.ts';
import type { SecretBox } from '../../lib/secret-box.ts';
import { HttpError } from '../errors.ts';
import { authorize } from '../policy.ts';
import { approvePluginBodySchema, pluginIdParamsSchema, pluginListSchema, pluginSchema, pluginSettingsSchema, putPluginSettingsBodySchema } from '../schemas/plugins.ts';
import { defineOperation, type Operation } from './define.ts';

const tags: [string] = ['plugins'];

const iso = (date: Date | null | undefined) => (date ? new Date(date).toISOString() : null);

/** A plugin as the API shows it: what its loaded version declares, the shared row, and this process's view. */
function pluginView(id: string, status: PluginStatus | undefined, row: Plugin | undefined, state: PluginState | undefined) {
  const manifest = status?.manifest;
  const declared = manifest?.permissions ?? null;
  const policy = state?.policy(id);
  const bundled = state ? state.isBundled(status) : false;
  const byDefault = state ? state.enablesByDefault(status) : false;
  let shown: 'loaded' | 'failed' | 'crashed' | 'disabled' | 'needs_approval' | 'missing';
  if (!status) shown = 'missing';
  else if (!manifest) shown = 'failed';
  else if (policy && !policy.runs) shown = policy.status;
  else shown = status.status;
  // Errors recorded by every process (the row), and this process's own (kept before the row existed, too).
  const errors = [...((row?.lastErrors ?? []) as { at: string; message: string; process: string }[])];
  for (const mine of status?.lastErrors ?? []) {
    if (!errors.some((e) => e.at === mine.at && e.message.startsWith(mine.message.slice(0, 200)))) errors.push({ at: mine.at, message: state ? state.redact(mine.message) : mine.message, process: `api ${process.pid}` });
  }
  errors.sort((a, b) => b.at.localeCompare(a.at));
  return {
    id,
    version: manifest?.version ?? null,
    title: manifest?.title ?? null,
    description: manifest?.description ?? null,
    author: manifest?.author ?? null,
    chainflow: manifest?.chainflow ?? null,
    bundled,
    status: shown,
    enabled: row ? row.enabled : state ? byDefault : true,
    declaredPermissions: declared,
    approvedPermissions: row?.approvedPermissions ?? (state ? null : declared),
    unapprovedPermissions: declared && state ? (policy && !policy.runs ? policy.unapproved : unapprovedPermissions(declared, row?.approvedPermissions ?? (byDefault ? declared : null))) : { network: [], credentials: [] },
    approvedVersion: row?.approvedVersion ?? null,
    approvedAt: iso(row?.approvedAt),
    lastErrors: errors.slice(0, 20),
    nodeTypes: (manifest?.nodes ?? []).map((node) => ({ type: node.type, label: node.label })),
    commands: manifest?.commands ?? [],
    hooks: manifest?.hooks ?? { beforeMessage: false, afterMessage: false, memberJoined: false },
    hasSettings: Boolean(manifest?.settingsSchema && Object.keys((manifest.settingsSchema.properties ?? {}) as object).length > 0),
    reloads: Math.max(status?.reloads ?? 0, 0),
    createdAt: iso(row?.createdAt),
    updatedAt: iso(row?.updatedAt),
  };
}

interface Plugins {
  registry: PluginRegistry | undefined;
  state: PluginState | undefined;
}

const current = (): Plugins => ({ registry: processPlugins(), state: processPluginState() });

/** The plugin's registry entry and row; 404 when neither exists. */
async function findPlugin(em: EntityManager, plugins: Plugins, id: string): Promise<{ status: PluginStatus | undefined; row: Plugin | null }> {
  const status = plugins.registry?.get(id);
  const row = await em.findOne(PluginSchema, { id });
  if (!status && !row) throw new HttpError(404, 'plugin_not_found', `No plugin "${id}": none is in plugins/ or PLUGINS_DIR (GET /api/v1/plugins lists them).`);
  return { status, row };
}

/** Changes need the shared state (every API process has it). */
function requireState(plugins: Plugins): PluginState {
  if (!plugins.state) throw new HttpError(503, 'plugins_unavailable', 'This API process keeps no plugin state (it was started without plugins); restart it with `chainflow api`.');
  return plugins.state;
}

/** What every change starts with: an admin, this process's shared state, the plugin (404 when unknown). */
async function forChange(em: EntityManager, principal: Parameters<typeof authorize>[0], id: string): Promise<{ plugins: Plugins; state: PluginState; status: PluginStatus | undefined; row: Plugin | null }> {
  authorize(principal, 'plugin:manage');
  const plugins = current();
  const state = requireState(plugins);
  return { plugins, state, ...(await findPlugin(em, plugins, id)) };
}

function loadedManifest(id: string, status: PluginStatus | undefined) {
  if (!status?.manifest) {
    throw new HttpError(409, 'plugin_not_loaded', `Plugin "${id}" is not loaded${status?.lastErrors[0] ? ` (${status.lastErrors[0].message})` : ''}: fix it so it loads (its last errors say why), then try again.`);
  }
  return status.manifest;
}

function rowOf(em: EntityManager, id: string, row: Plugin | null): Plugin {
  return row ?? em.create(PluginSchema, { id, enabled: false, approvedPermissions: null, approvedVersion: null, approvedBy: null, approvedAt: null, settings: {}, secretSettings: null, lastErrors: [] });
}

/** Writes the change, tells every process, and reads the rows again here. */
async function commit(em: EntityManager, state: PluginState, id: string): Promise<void> {
  await em.flush();
  await notifyPluginChanged(em, id);
  await state.reload();
}

const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');

function decryptSecrets(box: SecretBox | undefined, row: Plugin | null): Record<string, Json> {
  if (!row?.secretSettings) return {};
  if (!box) throw new HttpError(503, 'secret_key_missing', 'Secret plugin settings are stored encrypted, and this API has no key: set CHAINFLOW_SECRET_KEY and restart it.');
  return JSON.parse(box.decrypt(row.secretSettings, secretContext(row.id))) as Record<string, Json>;
}

function settingsView(status: PluginStatus | undefined, row: Plugin | null, box: SecretBox | undefined) {
  const manifest = status?.manifest;
  const secretKeys = secretKeysOf(manifest);
  const values: Record<string, unknown> = { ...(manifest?.settingsDefaults ?? {}), ...(row?.settings ?? {}) };
  for (const key of secretKeys) delete values[key];
  return {
    schema: manifest?.settingsSchema ?? { type: 'object', properties: {} },
    values,
    secretKeys,
    secretsSet: row?.secretSettings ? Object.keys(decryptSecrets(box, row)).filter((key) => secretKeys.includes(key)) : [],
  };
}

/**
 * `/plugins` (docs/plugins.md): the installed plugins with their status, declared and
 * approved permissions and last errors (every signed-in user); enabling, approving,
 * settings and reloads are for admins, audited, and reach every API and worker process
 * within seconds (NOTIFY on `chainflow_plugins`).
 */
export function pluginOperations(deps: { secretBox?: SecretBox | undefined }): Operation[] {
  return [
    defineOperation({
      method: 'get',
      path: '/plugins',
      operationId: 'listPlugins',
      summary: 'The plugins found in plugins/ and PLUGINS_DIR: status, permissions, last errors, node types',
      tags,
      auth: 'bearer',
      responses: { 200: { description: 'Every plugin, by id', schema: pluginListSchema } },
      handler: async ({ res, em, principal }) => {
        authorize(principal, 'plugin:list');
        const plugins = current();
        const rows = new Map((await em.find(PluginSchema, {})).map((row) => [row.id, row]));
        const statuses = new Map((plugins.registry?.list() ?? []).map((status) => [status.id, status]));
        const ids = [...new Set([...statuses.keys(), ...rows.keys()])].sort();
        const items = ids.map((id) => pluginView(id, statuses.get(id), rows.get(id), plugins.state));
        res.json({ items, total: items.length });
      },
    }),
    defineOperation({
      method: 'get',
      path: '/plugins/:id',
      operationId: 'getPlugin',
      summary: 'One plugin',
      tags,
      auth: 'bearer',
      params: pluginIdParamsSchema,
      errors: [404],
      responses: { 200: { description: 'The plugin', schema: pluginSchema } },
      handler: async ({ res, em, params, principal }) => {
        authorize(principal, 'plugin:list');
        const plugins = current();
        const { status, row } = await findPlugin(em, plugins, params.id);
        res.json(pluginView(params.id, status, row ?? undefined, plugins.state));
      },
    }),
    defineOperation({
      method: 'post',
      path: '/plugins/:id/approve',
      operationId: 'approvePlugin',
      summary: 'Approve the permissions a plugin declares (and optionally enable it)',
      description:
        'The body repeats exactly the permissions the loaded version declares, as GET showed them: 409 permissions_changed when the plugin declares something else by now (review again). A later version declaring more stops running until approved again.',
      tags,
      auth: 'bearer',
      params: pluginIdParamsSchema,
      body: approvePluginBodySchema,
      errors: [404, 409, 503],
      responses: { 200: { description: 'The plugin', schema: pluginSchema } },
      handler: async ({ res, em, params, body, principal, audit }) => {
        const { plugins, state, status, row: found } = await forChange(em, principal, params.id);
        const manifest = loadedManifest(params.id, status);
        const declared = manifest.permissions;
        if (!sameSet(declared.network, body.permissions.network) || !sameSet(declared.credentials, body.permissions.credentials)) {
          throw new HttpError(409, 'permissions_changed', `Plugin "${params.id}" ${manifest.version} declares other permissions than those sent (network: ${declared.network.join(', ') || 'none'}; credentials: ${declared.credentials.join(', ') || 'none'}): review them and send exactly those.`, { declared });
        }
        const row = rowOf(em, params.id, found);
        const before = { enabled: row.enabled, approvedPermissions: row.approvedPermissions };
        row.approvedPermissions = { network: [...declared.network], credentials: [...declared.credentials] } satisfies PluginPermissionSet;
        row.approvedVersion = manifest.version;
        row.approvedBy = principal.user.id;
        row.approvedAt = new Date();
        if (body.enable) row.enabled = true;
        audit({ action: 'plugin.approve', targetType: 'plugin', targetId: params.id, summary: { before, after: { enabled: row.enabled, approvedPermissions: row.approvedPermissions }, version: manifest.version } });
        await commit(em, state, params.id);
        res.json(pluginView(params.id, plugins.registry?.get(params.id), row, state));
      },
    }),
    ...(['enable', 'disable'] as const).map((verb) =>
      defineOperation({
        method: 'post',
        path: `/plugins/:id/${verb}`,
        operationId: `${verb}Plugin`,
        summary: verb === 'enable' ? 'Enable a plugin whose permissions are approved' : 'Disable a plugin (its node types leave the palette; chains using them stop compiling)',
        ...(verb === 'enable' ? { description: '409 plugin_needs_approval while it declares permissions not approved (POST …/approve first).' } : {}),
        tags,
        auth: 'bearer',
        params: pluginIdParamsSchema,
        errors: verb === 'enable' ? [404, 409, 503] : [404, 503],
        responses: { 200: { description: 'The plugin', schema: pluginSchema } },
        handler: async ({ res, em, params, principal, audit }) => {
          const { plugins, state, status, row: found } = await forChange(em, principal, params.id);
          const row = rowOf(em, params.id, found);
          if (verb === 'enable') {
            const manifest = loadedManifest(params.id, status);
            const missing = unapprovedPermissions(manifest.permissions, row.approvedPermissions);
            if (!row.approvedPermissions || missing.network.length > 0 || missing.credentials.length > 0) {
              throw new HttpError(409, 'plugin_needs_approval', `Plugin "${params.id}" ${manifest.version} declares permissions not approved (network: ${missing.network.join(', ') || 'none'}; credentials: ${missing.credentials.join(', ') || 'none'}): approve them first (POST /api/v1/plugins/${params.id}/approve).`, { unapproved: missing });
            }
          }
          const before = row.enabled;
          row.enabled = verb === 'enable';
          audit({ action: `plugin.${verb}`, targetType: 'plugin', targetId: params.id, summary: { before: { enabled: before }, after: { enabled: row.enabled } } });
          await commit(em, state, params.id);
          res.json(pluginView(params.id, plugins.registry?.get(params.id), row, state));
        },
      }),
    ),
    defineOperation({
      method: 'get',
      path: '/plugins/:id/settings',
      operationId: 'getPluginSettings',
      summary: "A plugin's settings with their schema (secret ones never shown)",
      tags,
      auth: 'bearer',
      params: pluginIdParamsSchema,
      errors: [404, 503],
      responses: { 200: { description: 'The settings', schema: pluginSettingsSchema } },
      handler: async ({ res, em, params, principal }) => {
        authorize(principal, 'plugin:manage');
        const { status, row } = await findPlugin(em, current(), params.id);
        res.json(settingsView(status, row, deps.secretBox));
      },
    }),
    defineOperation({
      method: 'put',
      path: '/plugins/:id/settings',
      operationId: 'putPluginSettings',
      summary: "Replace a plugin's settings (checked against its settings schema)",
      description: "400 invalid_settings names the field (body.values.<key>) and what the plugin's schema wants; nothing is stored then. Secret settings are stored encrypted (needs CHAINFLOW_SECRET_KEY).",
      tags,
      auth: 'bearer',
      params: pluginIdParamsSchema,
      body: putPluginSettingsBodySchema,
      errors: [404, 409, 503],
      responses: { 200: { description: 'The settings', schema: pluginSettingsSchema } },
      handler: async ({ res, em, params, body, principal, audit }) => {
        const { plugins, state, status, row: found } = await forChange(em, principal, params.id);
        const manifest = loadedManifest(params.id, status);
        const known = Object.keys((manifest.settingsSchema?.properties ?? {}) as object);
        const invalid = (field: string, message: string, extra: Record<string, unknown> = {}) =>
          new HttpError(400, 'invalid_settings', `body.values.${field}: ${message}`, { field: `body.values.${field}`, ...extra });
        for (const key of Object.keys(body.values)) {
          if (!known.includes(key)) throw invalid(key, `plugin "${params.id}" has no setting "${key}" (its settings: ${known.join(', ') || 'none'})`);
        }
        const secretKeys = secretKeysOf(manifest);
        const secrets = decryptSecrets(deps.secretBox, found);
        const plain: Record<string, Json> = {};
        for (const [key, value] of Object.entries(body.values) as [string, Json][]) {
          if (!secretKeys.includes(key)) plain[key] = value;
          else if (value === null) delete secrets[key];
          else if (typeof value === 'string') secrets[key] = value;
          else throw invalid(key, 'a secret setting is a string (or null to clear it)');
        }
        for (const key of Object.keys(secrets)) if (!secretKeys.includes(key)) delete secrets[key];
        const registry = plugins.registry as PluginRegistry;
        const checked = await registry.call(params.id, { kind: 'settings', values: { ...plain, ...secrets } }).catch((error: unknown) => {
          throw new HttpError(409, 'plugin_not_loaded', `Plugin "${params.id}" could not check its settings (${error instanceof Error ? error.message : String(error)}); try again once it loads.`);
        });
        if (checked.kind !== 'settings') throw new HttpError(409, 'plugin_not_loaded', `Plugin "${params.id}" answered a settings check with "${checked.kind}".`);
        const [issue] = checked.issues;
        if (issue) throw invalid(issue.path || Object.keys(body.values)[0] || '', `${issue.message} (as plugin "${params.id}" defines its settings)`, { issues: checked.issues });
        const parsed = checked.value ?? {};
        const row = rowOf(em, params.id, found);
        row.settings = Object.fromEntries(Object.keys(plain).map((key) => [key, parsed[key] ?? plain[key] ?? null]));
        const kept = Object.fromEntries(Object.keys(secrets).map((key) => [key, parsed[key] ?? secrets[key] ?? null]));
        if (Object.keys(kept).length > 0) {
          if (!deps.secretBox) throw new HttpError(503, 'secret_key_missing', 'Secret plugin settings are stored encrypted, and this API has no key: set CHAINFLOW_SECRET_KEY and restart it.');
          row.secretSettings = deps.secretBox.encrypt(JSON.stringify(kept), secretContext(params.id));
        } else row.secretSettings = null;
        audit({ action: 'plugin.settings', targetType: 'plugin', targetId: params.id, summary: { after: row.settings, secretsSet: Object.keys(kept) } });
        await commit(em, state, params.id);
        res.json(settingsView(status, row, deps.secretBox));
      },
    }),
    defineOperation({
      method: 'post',
      path: '/plugins/:id/reload',
      operationId: 'reloadPlugin',
      summary: 'Load a plugin afresh in every process (a new thread; the old one drains)',
      tags,
      auth: 'bearer',
      params: pluginIdParamsSchema,
      errors: [404, 503],
      responses: { 200: { description: 'The plugin after the reload here', schema: pluginSchema } },
      handler: async ({ res, em, params, principal, audit }) => {
        const { plugins, state, row } = await forChange(em, principal, params.id);
        await plugins.registry?.reload(params.id);
        audit({ action: 'plugin.reload', targetType: 'plugin', targetId: params.id, summary: {} });
        await em.flush();
        await notifyPluginChanged(em, params.id, { reload: true, origin: state.origin });
        res.json(pluginView(params.id, plugins.registry?.get(params.id), row ?? undefined, state));
      },
    }),
  ];
}
