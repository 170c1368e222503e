// The worker thread of one plugin version: loads the plugin's entry (a fresh module graph,
// so helper modules are re-read on every reload), answers calls from the host and gives
// the plugin its ctx. `chainflow/plugin-sdk` resolves here to the SDK, whether the plugin
// lives in plugins/ or in PLUGINS_DIR.

import { registerHooks } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import { z } from 'zod';
import { createSsrfGuard, guardedFetch } from '../../activities/ssrf.ts';
import type { Json, NodeContext, PluginContext, PluginDefinition } from '../plugin-sdk.ts';
import type { CallRequest, CallResult, FromThread, PluginManifest, ThreadData, ToThread } from './protocol.ts';
import { hostPermitted } from './permissions.ts';

const data = workerData as ThreadData;
const port = parentPort;
if (!port) throw new Error('lib/plugins/thread.ts runs only as a worker thread');

registerHooks({
  resolve(specifier, context, next) {
    if (specifier === 'chainflow/plugin-sdk') return { url: data.sdkUrl, shortCircuit: true };
    return next(specifier, context);
  },
});

const send = (message: FromThread) => port.postMessage(message);
const guard = createSsrfGuard({ allow: data.ssrfAllow });
const fetchGuarded = guardedFetch(guard);
let serviceSeq = 0;
const services = new Map<number, { resolve: (v: Json | undefined) => void; reject: (e: Error) => void }>();

function service(op: 'kv.get' | 'kv.set' | 'kv.delete' | 'credential', key: string, value?: Json, ttlSeconds?: number): Promise<Json | undefined> {
  const id = ++serviceSeq;
  return new Promise((resolve, reject) => {
    services.set(id, { resolve, reject });
    send({ type: 'service', id, op, key, ...(value === undefined ? {} : { value }), ...(ttlSeconds === undefined ? {} : { ttlSeconds }) });
  });
}

function contextFor(plugin: PluginDefinition, settings: Record<string, Json>): PluginContext {
  const credentials = plugin.permissions?.credentials ?? [];
  return {
    settings,
    async fetch(url, init = {}) {
      const target = new URL(url);
      if (!hostPermitted(plugin.permissions?.network ?? [], settings, target.hostname)) {
        throw new Error(`Plugin "${plugin.id}" may not reach host "${target.hostname}": it is not among its declared network permissions (permissions.network).`);
      }
      const response = await fetchGuarded(target, { method: init.method ?? 'GET', ...(init.headers ? { headers: init.headers } : {}), ...(init.body !== undefined ? { body: init.body } : {}), signal: AbortSignal.timeout(10_000) });
      const body = await response.text();
      return {
        status: response.status,
        headers: Object.fromEntries(response.headers),
        text: async () => body,
        json: async () => JSON.parse(body) as unknown,
      };
    },
    kv: {
      get: (key) => service('kv.get', key),
      set: async (key, value, options) => void (await service('kv.set', key, value, options?.ttlSeconds)),
      delete: async (key) => void (await service('kv.delete', key)),
    },
    async credential(name) {
      if (!credentials.includes(name)) throw new Error(`Plugin "${plugin.id}" may not use credential "${name}": declare it in permissions.credentials.`);
      return String(await service('credential', name));
    },
    log: (message) => send({ type: 'log', message: String(message).slice(0, 2000) }),
  };
}

const jsonSchema = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
const issuesOf = (error: z.ZodError) => error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));

function manifestOf(plugin: PluginDefinition): PluginManifest {
  const nodes = Object.entries(plugin.nodes ?? {}).map(([key, spec]) => {
    const defaults = spec.config.safeParse({});
    return {
      type: `plugin:${plugin.id}/${key}`,
      label: spec.label,
      help: spec.help,
      icon: spec.icon ?? 'puzzle',
      configSchema: jsonSchema(spec.config),
      defaults: (defaults.success ? defaults.data : {}) as Record<string, Json>,
    };
  });
  const settingsDefaults = plugin.settings?.safeParse({});
  const manifest: PluginManifest = {
    id: plugin.id,
    version: plugin.version,
    title: plugin.title,
    description: plugin.description,
    permissions: { network: plugin.permissions?.network ?? [], credentials: plugin.permissions?.credentials ?? [] },
    nodes,
    commands: Object.entries(plugin.commands ?? {}).map(([name, command]) => ({ name, description: command.description })),
    hooks: { beforeMessage: Boolean(plugin.hooks?.beforeMessage), afterMessage: Boolean(plugin.hooks?.afterMessage), memberJoined: Boolean(plugin.hooks?.memberJoined) },
    settingsDefaults: (settingsDefaults?.success ? settingsDefaults.data : {}) as Record<string, Json>,
  };
  if (plugin.author) manifest.author = plugin.author;
  if (plugin.chainflow) manifest.chainflow = plugin.chainflow;
  if (plugin.settings) manifest.settingsSchema = jsonSchema(plugin.settings);
  if (plugin.webTab) manifest.webTab = plugin.webTab;
  return manifest;
}

async function handle(plugin: PluginDefinition, request: CallRequest, settings: Record<string, Json>): Promise<CallResult> {
  const merged = { ...manifestSettings, ...settings };
  switch (request.kind) {
    case 'validate': {
      const spec = plugin.nodes?.[request.key];
      if (!spec) return { kind: 'validate', issues: [{ path: '', message: `no node type "${request.key}" in plugin "${plugin.id}"` }] };
      const parsed = spec.config.safeParse(request.config);
      return { kind: 'validate', issues: parsed.success ? [] : issuesOf(parsed.error) };
    }
    case 'node': {
      const spec = plugin.nodes?.[request.key];
      if (!spec) return { kind: 'node', outcome: { ok: false, set: {}, error: { code: 'plugin_unknown', message: `Plugin "${plugin.id}" has no node type "${request.key}".` } } };
      const parsed = spec.config.safeParse(request.config);
      if (!parsed.success) {
        const message = issuesOf(parsed.error).map((i) => `${i.path || '(config)'}: ${i.message}`).join('; ');
        return { kind: 'node', outcome: { ok: false, set: {}, error: { code: 'plugin_config_invalid', message: `Node config is invalid: ${message}` } } };
      }
      const ctx: NodeContext = { ...contextFor(plugin, merged), vars: request.vars, runId: request.runId, nodeId: request.nodeId };
      try {
        const result = await spec.run(ctx, parsed.data);
        if (result.ok) return { kind: 'node', outcome: { ok: true, set: result.set ?? {} } };
        return { kind: 'node', outcome: { ok: false, set: result.set ?? {}, error: { code: result.error.code ?? 'plugin_error', message: result.error.message } } };
      } catch (error) {
        return { kind: 'node', outcome: { ok: false, set: {}, error: { code: 'plugin_failed', message: error instanceof Error ? error.message : String(error) } } };
      }
    }
    case 'beforeMessage': {
      const hook = plugin.hooks?.beforeMessage;
      return { kind: 'beforeMessage', result: hook ? await hook(contextFor(plugin, merged), request.message) : { action: 'continue' } };
    }
    case 'afterMessage': {
      await plugin.hooks?.afterMessage?.(contextFor(plugin, merged), request.message);
      return { kind: 'afterMessage' };
    }
    case 'settings': {
      const parsed = (plugin.settings ?? z.object({})).safeParse(request.values);
      return parsed.success ? { kind: 'settings', issues: [], value: parsed.data as Record<string, Json> } : { kind: 'settings', issues: issuesOf(parsed.error) };
    }
    case 'memberJoined': {
      const answer = await plugin.hooks?.memberJoined?.(contextFor(plugin, merged), request.event);
      const reply = answer && typeof answer.reply === 'string' ? answer.reply : undefined;
      return reply === undefined ? { kind: 'memberJoined' } : { kind: 'memberJoined', reply };
    }
    case 'command': {
      const command = plugin.commands?.[request.name];
      if (!command) throw new Error(`Plugin "${plugin.id}" has no command /${request.name}.`);
      return { kind: 'command', reply: await command.run(contextFor(plugin, merged), { args: request.args, message: request.message }) };
    }
  }
}

let manifestSettings: Record<string, Json> = {};

try {
  const module = (await import(data.entry)) as { default?: PluginDefinition };
  const plugin = module.default;
  if (!plugin || typeof plugin !== 'object' || typeof plugin.id !== 'string') throw new Error('the entry must default-export definePlugin({...}) from chainflow/plugin-sdk');
  const folderId = data.folder.split(/[\\/]/).pop();
  if (plugin.id !== folderId) throw new Error(`its id "${plugin.id}" differs from its folder name "${folderId}"; rename one`);
  if (!/^[a-z0-9][a-z0-9_-]{0,62}$/.test(plugin.id)) throw new Error(`id "${plugin.id}" must be lowercase letters, digits, '-' or '_' (at most 63)`);
  const manifest = manifestOf(plugin);
  manifestSettings = manifest.settingsDefaults;
  port.on('message', (message: ToThread) => {
    if (message.type === 'service') {
      const waiting = services.get(message.id);
      services.delete(message.id);
      if (message.ok) waiting?.resolve(message.value);
      else waiting?.reject(new Error(message.message));
      return;
    }
    handle(plugin, message.request, message.settings).then(
      (value) => send({ type: 'result', id: message.id, ok: true, value }),
      (error: unknown) => send({ type: 'result', id: message.id, ok: false, message: error instanceof Error ? error.message : String(error) }),
    );
  });
  send({ type: 'ready', manifest });
} catch (error) {
  send({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
}
