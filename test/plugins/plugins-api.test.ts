// Issue 16, state and API: on the real stack (PostgreSQL, Temporal, the real worker and
// API) with the repository's bundled plugins (plugins/) and a temp PLUGINS_DIR. The policy
// (bundled ones run as declared, others wait for an admin), approval of the exact
// permissions, re-approval when a new version declares more, enable/disable reflected in
// /node-types, compile and running sessions, in a second process too; settings checked
// against the plugin's schema (secret ones encrypted, never in a session's variables);
// the key-value store under the spam filter's flood check; credentials through ctx.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_PLUGINS_DIR, PluginRegistry } from '../../lib/plugins/host.ts';
import { setProcessPlugins } from '../../lib/plugins/process.ts';
import { PluginState, setProcessPluginState } from '../../lib/plugins/state.ts';
import { eventually } from '../support/poll.ts';
import { bearer, createAccount, registerAdmin, startApi, type Account, type ApiHarness } from '../api/support/api.ts';

const dir = mkdtempSync(join(tmpdir(), 'cf-plugins-api-'));
let t: ApiHarness;
let admin: Account;
let editor: Account;
let registry: PluginRegistry;
let state: PluginState;
/** "Another process" (a worker replica) on the same database. */
let otherRegistry: PluginRegistry;
let otherState: PluginState;

async function startProcess(url: string, orm: ApiHarness['h']['db']['orm'], box: ApiHarness['h']['secretBox'], name: string) {
  const s = new PluginState({ orm, secretBox: box, databaseUrl: url, processName: name, pollMs: 60_000 });
  const r = new PluginRegistry({ dirs: [BUILTIN_PLUGINS_DIR, dir], limits: { callTimeoutMs: 5000 }, pollMs: 500, ...s.registryOptions() });
  await s.start(r);
  await r.start();
  await s.ready();
  return { s, r };
}

beforeAll(async () => {
  t = await startApi('plugins-api');
  admin = await registerAdmin(t.api);
  editor = await createAccount(t.api, admin, 'editor');
  ({ s: state, r: registry } = await startProcess(t.h.db.url, t.h.db.orm, t.h.secretBox, 'api'));
  setProcessPlugins(registry);
  setProcessPluginState(state);
  // Polls every minute only: what it learns within seconds comes through NOTIFY.
  ({ s: otherState, r: otherRegistry } = await startProcess(t.h.db.url, t.h.db.orm, t.h.secretBox, 'worker'));
});

afterAll(async () => {
  await otherState?.close();
  await otherRegistry?.close();
  await state?.close();
  await registry?.close();
  setProcessPlugins(undefined);
  setProcessPluginState(undefined);
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A plugin with a node reading its settings (one secret), its key-value store and optionally a credential. */
function helloPlugin(version: string, credentials: string[]): string {
  return `import { definePlugin, node, z } from 'chainflow/plugin-sdk';
export default definePlugin({
  id: 'hello', version: '${version}', title: { en: 'Hello', ru: 'Привет' }, description: { en: 'Greets', ru: 'Приветствует' }, author: 'Tests',
  permissions: { network: ['api.example.com'], credentials: ${JSON.stringify(credentials)} },
  settings: z.object({
    greeting: z.string().min(2).default('Hello'),
    times: z.number().int().min(1).max(5).default(1),
    apiKey: z.string().min(8).optional().meta({ secret: true, label: { en: 'API key', ru: 'Ключ API' } }),
  }),
  nodes: {
    greet: node({
      label: { en: 'Greet', ru: 'Поприветствовать' }, help: { en: 'Greets', ru: 'Приветствует' },
      config: z.object({ name: z.string().min(1) }),
      async run(ctx, config) {
        const count = Number((await ctx.kv.get('count')) ?? 0) + 1;
        await ctx.kv.set('count', count);
        const key = ${credentials.length ? `await ctx.credential('${credentials[0]}')` : "''"};
        return { ok: true, set: { 'session.greeting': \`\${ctx.settings.greeting}, \${config.name}! #\${count}\`, 'session.leak': String(ctx.settings.apiKey ?? '') + ' ' + key } };
      },
    }),
  },
});
`;
}

function graph(slug: string) {
  return {
    slug,
    name: slug,
    webChat: { enabled: true },
    variables: [{ name: 'session.greeting', type: 'string' }, { name: 'session.leak', type: 'string' }],
    nodes: [
      { id: 'start', type: 'start', position: { x: 0, y: 0 }, data: { trigger: { kind: 'any' } } },
      { id: 'ask', type: 'ask', position: { x: 200, y: 0 }, data: { prompt: 'Name?', variable: 'session.name' } },
      { id: 'p', type: 'plugin:hello/greet', position: { x: 400, y: 0 }, data: { name: '{{ session.name }}' } },
      { id: 'ok', type: 'message', position: { x: 600, y: 0 }, data: { text: '{{ session.greeting }}|{{ session.leak }}' } },
      { id: 'bad', type: 'message', position: { x: 600, y: 200 }, data: { text: 'Failed: {{ session.error.code }} {{ session.error.message }}' } },
    ],
    edges: [
      { id: 'e1', source: 'start', target: 'ask' },
      { id: 'e2', source: 'ask', target: 'p' },
      { id: 'e3', source: 'p', sourcePort: 'ok', target: 'ok' },
      { id: 'e4', source: 'p', sourcePort: 'error', target: 'bad' },
      { id: 'e5', source: 'ok', target: 'ask' },
      { id: 'e6', source: 'bad', target: 'ask' },
    ],
  };
}

function visitor(slug: string, name: string) {
  let token: string | undefined;
  return async (text: string): Promise<string[]> => {
    const req = request(t.app).post(`/api/v1/chat/${slug}/${name}/messages`);
    const res = await (token ? req.set('X-Visitor-Token', token) : req).send({ text });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    token ??= res.body.visitorToken as string;
    return (res.body.replies as { text: string }[]).map((r) => r.text);
  };
}

const as = (account: Account) => bearer(account.token);
const nodeTypes = async (): Promise<string[]> => ((await t.api.get('/api/v1/node-types').set(as(admin))).body.items as { type: string }[]).map((n) => n.type);
const plugin = async (id: string) => (await t.api.get(`/api/v1/plugins/${id}`).set(as(admin))).body;
const auditActions = async (id: string) =>
  (await t.h.db.orm.em.getConnection().execute<{ action: string }[]>(`select action from audit_entry where target_type = 'plugin' and target_id = ? order by at`, [id])).map((r) => r.action);

let chain: { id: string; slug: string };

describe('plugins: policy, approval and settings on a running stack', () => {
  it('bundled plugins run with what they declare; one in PLUGINS_DIR waits, disabled, for an admin (compile says plugin_disabled)', async () => {
    const list = await t.api.get('/api/v1/plugins').set(as(editor));
    expect(list.status).toBe(200);
    // A bundled plugin that only adds node types runs as declared ...
    const jsonata = list.body.items.find((p: { id: string }) => p.id === 'jsonata');
    expect(jsonata).toMatchObject({ bundled: true, enabled: true, status: 'loaded', approvedVersion: '1.0.0', nodeTypes: [{ type: 'plugin:jsonata/transform' }] });
    expect(await nodeTypes()).toContain('plugin:jsonata/transform');
    // ... one with hooks or Telegram commands would change every bot: it waits for an admin.
    for (const id of ['spam-filter', 'welcome', 'weather']) {
      expect(list.body.items.find((p: { id: string }) => p.id === id), id).toMatchObject({ bundled: true, enabled: false, status: 'disabled', approvedPermissions: null });
    }
    expect(list.body.items.find((p: { id: string }) => p.id === 'weather')).toMatchObject({ declaredPermissions: { network: ['api.open-meteo.com', 'settings:baseUrl'], credentials: [] }, unapprovedPermissions: { network: ['api.open-meteo.com', 'settings:baseUrl'], credentials: [] }, nodeTypes: [{ type: 'plugin:weather/current' }] });
    expect(await nodeTypes()).not.toContain('plugin:weather/current');

    mkdirSync(join(dir, 'hello'));
    writeFileSync(join(dir, 'hello', 'index.ts'), helloPlugin('1.0.0', []));
    const hello = await eventually(async () => {
      const body = await plugin('hello');
      return body.status === 'disabled' ? body : undefined;
    }, 'hello listed as disabled', 15_000);
    expect(hello).toMatchObject({ bundled: false, enabled: false, approvedPermissions: null, declaredPermissions: { network: ['api.example.com'], credentials: [] }, unapprovedPermissions: { network: ['api.example.com'], credentials: [] }, hasSettings: true });
    expect(await nodeTypes()).not.toContain('plugin:hello/greet');

    const created = await t.api.post('/api/v1/chains').set(as(admin)).send({ graph: graph('hello-chain') });
    chain = created.body;
    const validation = await t.api.post(`/api/v1/chains/${chain.id}/validate`).set(as(admin));
    expect(validation.body).toMatchObject({ ok: false, errors: [{ code: 'plugin_disabled', nodeId: 'p', message: expect.stringMatching(/Node 'p' \(plugin:hello\/greet\): Plugin "hello" is disabled: it is not yet approved/) }] });
    const refused = await t.api.post(`/api/v1/chains/${chain.id}/publish`).set(as(admin)).send({});
    expect(refused.status).toBe(422);
  });

  it('only admins change plugins; enabling needs the exact declared permissions approved first', async () => {
    expect((await t.api.post('/api/v1/plugins/hello/enable').set(as(editor))).status).toBe(403);
    expect((await t.api.put('/api/v1/plugins/hello/settings').set(as(editor)).send({ values: {} })).status).toBe(403);
    const early = await t.api.post('/api/v1/plugins/hello/enable').set(as(admin));
    expect(early.status).toBe(409);
    expect(early.body).toMatchObject({ error: 'plugin_needs_approval', message: expect.stringContaining('network: api.example.com') });
    const wrong = await t.api.post('/api/v1/plugins/hello/approve').set(as(admin)).send({ permissions: { network: [], credentials: [] }, enable: true });
    expect(wrong.status).toBe(409);
    expect(wrong.body).toMatchObject({ error: 'permissions_changed', details: { declared: { network: ['api.example.com'], credentials: [] } } });
    expect((await plugin('hello')).enabled).toBe(false);
    expect((await t.api.get('/api/v1/plugins/nope').set(as(admin))).status).toBe(404);

    const approved = await t.api.post('/api/v1/plugins/hello/approve').set(as(admin)).send({ permissions: { network: ['api.example.com'], credentials: [] }, enable: true });
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    expect(approved.body).toMatchObject({ status: 'loaded', enabled: true, approvedPermissions: { network: ['api.example.com'], credentials: [] }, approvedVersion: '1.0.0' });
    expect(await nodeTypes()).toContain('plugin:hello/greet');
    const published = await t.api.post(`/api/v1/chains/${chain.id}/publish`).set(as(admin)).send({});
    expect(published.status, JSON.stringify(published.body)).toBe(201);
    const ann = visitor(chain.slug, 'ann');
    expect(await ann('hi')).toEqual(['Name?']);
    expect(await ann('Ann')).toEqual(['Hello, Ann! #1| ', 'Name?']);
    expect(await auditActions('hello')).toEqual(['plugin.approve']);
    // The other process heard it through NOTIFY (it polls only once a minute).
    await eventually(() => (otherState.policy('hello').runs && otherRegistry.installedTypes().includes('plugin:hello/greet') ? true : undefined), 'the approval in the other process', 10_000);
  });

  it('settings are checked against the plugin schema (400 naming the field, nothing stored); secret ones are encrypted and never reach a session', async () => {
    const before = await t.api.get('/api/v1/plugins/hello/settings').set(as(admin));
    expect(before.body).toMatchObject({ values: { greeting: 'Hello', times: 1 }, secretKeys: ['apiKey'], secretsSet: [] });
    expect(before.body.schema.properties.apiKey).toMatchObject({ secret: true, label: { en: 'API key', ru: 'Ключ API' } });

    const bad = await t.api.put('/api/v1/plugins/hello/settings').set(as(admin)).send({ values: { greeting: 'Hi', times: 9 } });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: 'invalid_settings', message: expect.stringMatching(/^body\.values\.times: /), details: { field: 'body.values.times' } });
    const unknown = await t.api.put('/api/v1/plugins/hello/settings').set(as(admin)).send({ values: { colour: 'red' } });
    expect(unknown.body).toMatchObject({ error: 'invalid_settings', message: expect.stringContaining('body.values.colour: plugin "hello" has no setting "colour" (its settings: greeting, times, apiKey)') });
    const shortKey = await t.api.put('/api/v1/plugins/hello/settings').set(as(admin)).send({ values: { apiKey: 'short' } });
    expect(shortKey.body).toMatchObject({ error: 'invalid_settings', details: { field: 'body.values.apiKey' } });
    expect((await t.api.get('/api/v1/plugins/hello/settings').set(as(admin))).body.values).toEqual({ greeting: 'Hello', times: 1 });

    const secret = 'sk-very-secret-1234';
    const put = await t.api.put('/api/v1/plugins/hello/settings').set(as(admin)).send({ values: { greeting: 'Bonjour', apiKey: secret } });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body).toMatchObject({ values: { greeting: 'Bonjour', times: 1 }, secretsSet: ['apiKey'] });
    expect(JSON.stringify(put.body)).not.toContain(secret);
    const [row] = await t.h.db.orm.em.getConnection().execute<{ settings: unknown; secret_settings: string }[]>(`select settings, secret_settings from plugin where id = 'hello'`);
    expect(row?.settings).toEqual({ greeting: 'Bonjour' });
    expect(row?.secret_settings).not.toContain(secret);
    // Another PUT without the secret keeps it.
    expect((await t.api.put('/api/v1/plugins/hello/settings').set(as(admin)).send({ values: { greeting: 'Bonjour' } })).body.secretsSet).toEqual(['apiKey']);

    // The plugin sees the new settings at its next call; the secret it copies into a variable is redacted.
    const bob = visitor(chain.slug, 'bob');
    await bob('hi');
    expect(await bob('Bob')).toEqual(['Bonjour, Bob! #2|[redacted] ', 'Name?']);
    const stored = await t.h.db.orm.em.getConnection().execute<{ text: string }[]>(`select payload::text as text from run_event where payload::text like ?`, [`%${secret}%`]);
    expect(stored).toEqual([]);
    // ctx.kv counted both calls in PostgreSQL.
    const [kv] = await t.h.db.orm.em.getConnection().execute<{ value: unknown }[]>(`select value from plugin_kv where plugin_id = 'hello' and key = 'count'`);
    expect(kv?.value).toBe(2);
    expect(await auditActions('hello')).toEqual(['plugin.approve', 'plugin.settings', 'plugin.settings']);
  });

  it('a new version declaring more stops until approved again; ctx.credential reads only approved credentials', async () => {
    const credential = await t.api.post('/api/v1/credentials').set(as(admin)).send({ name: 'hello_key', kind: 'secret', value: 'cred-value-98765' });
    expect(credential.status).toBe(201);
    writeFileSync(join(dir, 'hello', 'index.ts'), helloPlugin('1.1.0', ['hello_key']));
    const changed = await eventually(async () => {
      const body = await plugin('hello');
      return body.version === '1.1.0' && body.status === 'needs_approval' ? body : undefined;
    }, 'hello 1.1.0 needing approval', 15_000);
    expect(changed).toMatchObject({ enabled: true, unapprovedPermissions: { network: [], credentials: ['hello_key'] }, approvedPermissions: { network: ['api.example.com'], credentials: [] } });
    expect(await nodeTypes()).not.toContain('plugin:hello/greet');
    const validation = await t.api.post(`/api/v1/chains/${chain.id}/validate`).set(as(admin));
    expect(validation.body.errors[0]).toMatchObject({ code: 'plugin_disabled', message: expect.stringContaining('beyond the approved ones (credentials hello_key)') });
    // A running session reaching the node takes its error port.
    const carol = visitor(chain.slug, 'carol');
    await carol('hi');
    expect(await carol('Carol')).toEqual([expect.stringMatching(/^Failed: plugin_disabled Node type "plugin:hello\/greet": Plugin "hello" is disabled until an admin approves/), 'Name?']);

    const again = await t.api.post('/api/v1/plugins/hello/approve').set(as(admin)).send({ permissions: { network: ['api.example.com'], credentials: ['hello_key'] } });
    expect(again.body).toMatchObject({ status: 'loaded', approvedVersion: '1.1.0' });
    expect(await nodeTypes()).toContain('plugin:hello/greet');
    // The credential's value reaches the plugin, never the session.
    expect(await carol('Carol')).toEqual(['Bonjour, Carol! #3|[redacted] [redacted]', 'Name?']);
  });

  it('disable and enable are seen by /node-types, compile and the other process within seconds; reload starts a fresh thread', async () => {
    const off = await t.api.post('/api/v1/plugins/hello/disable').set(as(admin));
    expect(off.body).toMatchObject({ enabled: false, status: 'disabled' });
    expect(await nodeTypes()).not.toContain('plugin:hello/greet');
    expect((await t.api.post(`/api/v1/chains/${chain.id}/validate`).set(as(admin))).body.errors[0]).toMatchObject({ code: 'plugin_disabled', message: expect.stringContaining('Plugin "hello" is disabled; an admin enables it in Plugins.') });
    await eventually(() => (otherRegistry.installedTypes().includes('plugin:hello/greet') ? undefined : true), 'hello disabled in the other process', 10_000);
    await expect(otherRegistry.call('hello', { kind: 'node', key: 'greet', config: { name: 'x' }, vars: {}, runId: 'r', nodeId: 'n' })).rejects.toMatchObject({ code: 'plugin_disabled' });

    const on = await t.api.post('/api/v1/plugins/hello/enable').set(as(admin));
    expect(on.body).toMatchObject({ enabled: true, status: 'loaded' });
    expect(await nodeTypes()).toContain('plugin:hello/greet');
    await eventually(() => (otherRegistry.installedTypes().includes('plugin:hello/greet') ? true : undefined), 'hello enabled in the other process', 10_000);

    const reloads = (await plugin('hello')).reloads as number;
    const otherReloads = otherRegistry.get('hello')?.reloads ?? 0;
    const reloaded = await t.api.post('/api/v1/plugins/hello/reload').set(as(admin));
    expect(reloaded.body.reloads).toBe(reloads + 1);
    await eventually(() => ((otherRegistry.get('hello')?.reloads ?? 0) > otherReloads ? true : undefined), 'the reload in the other process', 10_000);
    expect(await auditActions('hello')).toEqual(['plugin.approve', 'plugin.settings', 'plugin.settings', 'plugin.approve', 'plugin.disable', 'plugin.enable', 'plugin.reload']);
  });

  it("the spam filter's flood check counts in the key-value store (PostgreSQL, with a ttl) under settings set through the API", async () => {
    // Bundled but acting on every bot: an admin approves what it declares and enables it first.
    const declared = (await plugin('spam-filter')).declaredPermissions;
    expect((await t.api.post('/api/v1/plugins/spam-filter/approve').set(as(admin)).send({ permissions: declared })).status).toBe(200);
    expect((await t.api.post('/api/v1/plugins/spam-filter/enable').set(as(admin))).status).toBe(200);
    await eventually(async () => ((await plugin('spam-filter')).status === 'loaded' ? true : undefined), 'the spam filter running', 10_000);
    const put = await t.api.put('/api/v1/plugins/spam-filter/settings').set(as(admin)).send({ values: { floodLimit: 2, floodWindowSeconds: 60 } });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const message = { botId: 'bot-1', chatId: '42', userId: '7', text: 'hello there' };
    const verdicts: unknown[] = [];
    for (let i = 0; i < 3; i++) {
      const result = await registry.call('spam-filter', { kind: 'beforeMessage', message }, 5000);
      verdicts.push(result.kind === 'beforeMessage' ? result.result : result);
    }
    expect(verdicts).toEqual([{ action: 'continue' }, { action: 'continue' }, { action: 'drop', reason: 'flood: more than 2 messages in the window' }]);
    // The other process shares the count: its first call is already over the limit.
    await eventually(() => (otherState.settings('spam-filter').floodLimit === 2 ? true : undefined), 'the settings in the other process', 10_000);
    const other = await otherRegistry.call('spam-filter', { kind: 'beforeMessage', message }, 5000);
    expect(other).toMatchObject({ result: { action: 'drop' } });
    const rows = await t.h.db.orm.em.getConnection().execute<{ key: string; n: number; ttl: boolean }[]>(
      `select key, jsonb_array_length(value) as n, expires_at > now() + interval '50 seconds' as ttl from plugin_kv where plugin_id = 'spam-filter'`,
    );
    expect(rows).toEqual([{ key: 'flood:bot-1:42:7', n: 3, ttl: true }]);
  });
});
