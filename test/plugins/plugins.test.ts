// Issue 16 "Plugins", done-when: on the real stack (PostgreSQL, Temporal, the real worker
// and API), with plugins in a temp PLUGINS_DIR (never the repo's plugins/): a scaffolded
// plugin dropped in is used by a published chain within seconds; changing its helper
// module changes new steps; an endlessly looping plugin is killed while other sessions
// keep answering; removing it gives the compile error and the error port. No restarts.

import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scaffoldPlugin } from '../../cli/plugin.ts';
import { PluginRegistry } from '../../lib/plugins/host.ts';
import { setProcessPlugins } from '../../lib/plugins/process.ts';
import { eventually } from '../support/poll.ts';
import { bearer, registerAdmin, startApi, type Account, type ApiHarness } from '../api/support/api.ts';

const dir = mkdtempSync(join(tmpdir(), 'cf-plugins-it-'));
const registry = new PluginRegistry({ dirs: [dir], limits: { callTimeoutMs: 2000 }, pollMs: 500 });
let t: ApiHarness;
let admin: Account;

beforeAll(async () => {
  await registry.start();
  setProcessPlugins(registry);
  t = await startApi('plugins');
  admin = await registerAdmin(t.api);
});

afterAll(async () => {
  await t?.close();
  setProcessPlugins(undefined);
  await registry.close();
  rmSync(dir, { recursive: true, force: true });
});

/** any → ask name → plugin node → ok: its greeting / error: the message → ask again. */
function pluginGraph(slug: string, type: string, data: Record<string, unknown>) {
  return {
    slug,
    name: slug,
    webChat: { enabled: true },
    variables: [{ name: 'session.greeting', type: 'string' }],
    nodes: [
      { id: 'start', type: 'start', position: { x: 0, y: 0 }, data: { trigger: { kind: 'any' } } },
      { id: 'ask', type: 'ask', position: { x: 200, y: 0 }, data: { prompt: 'Name?', variable: 'session.name' } },
      { id: 'p', type, position: { x: 400, y: 0 }, data },
      { id: 'ok', type: 'message', position: { x: 600, y: 0 }, data: { text: '{{ session.greeting }}' } },
      { id: 'bad', type: 'message', position: { x: 600, y: 200 }, data: { text: 'Failed: {{ session.error.message }}' } },
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

async function publish(graph: Record<string, unknown>): Promise<{ id: string; slug: string }> {
  const created = await t.api.post('/api/v1/chains').set(bearer(admin.token)).send({ graph });
  expect(created.status).toBe(201);
  const published = await t.api.post(`/api/v1/chains/${created.body.id}/publish`).set(bearer(admin.token)).send({});
  expect(published.status, JSON.stringify(published.body)).toBe(201);
  return created.body as { id: string; slug: string };
}

/** One web-chat visitor of a chain: `say` returns the reply texts. */
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

const nodeTypes = async (): Promise<string[]> => ((await t.api.get('/api/v1/node-types').set(bearer(admin.token))).body.items as { type: string }[]).map((n) => n.type);

const looper = `import { definePlugin, node, z } from 'chainflow/plugin-sdk';
export default definePlugin({
  id: 'looper', version: '1.0.0', title: { en: 'Looper', ru: 'Цикл' }, description: { en: 'Never answers', ru: 'Не отвечает' },
  nodes: { spin: node({ label: { en: 'Spin', ru: 'Цикл' }, help: { en: 'Loops', ru: 'Зацикливается' }, config: z.object({}), run: () => { for (;;) { /* endless */ } } }) },
});
`;

describe('plugins on a running stack', () => {
  let hello: { id: string; slug: string };
  const ann = () => visitor(hello.slug, 'ann');
  let sayAnn: (text: string) => Promise<string[]>;

  it('a scaffolded plugin dropped into PLUGINS_DIR appears in /node-types and runs in a published chain', async () => {
    expect(await nodeTypes()).not.toContain('plugin:hello/greet');
    scaffoldPlugin(dir, 'hello');
    await eventually(async () => ((await nodeTypes()).includes('plugin:hello/greet') ? true : undefined), 'plugin:hello/greet in /node-types', 10_000);
    const listed = (await t.api.get('/api/v1/node-types').set(bearer(admin.token))).body.items.find((n: { type: string }) => n.type === 'plugin:hello/greet');
    expect(listed).toMatchObject({ category: 'integration', label: { en: 'Greet', ru: 'Поприветствовать' }, plugin: { id: 'hello', version: '0.1.0' }, ports: [{ id: 'ok' }, { id: 'error' }] });
    expect(listed.configSchema.properties.name).toMatchObject({ label: { en: 'Name', ru: 'Имя' } });

    // Config validated at publish like a built-in's.
    const bad = await t.api.post('/api/v1/chains').set(bearer(admin.token)).send({ graph: pluginGraph('hello-bad', 'plugin:hello/greet', { name: '' }) });
    const refused = await t.api.post(`/api/v1/chains/${bad.body.id}/publish`).set(bearer(admin.token)).send({});
    expect(refused.status).toBe(422);
    expect(JSON.stringify(refused.body)).toMatch(/Node 'p' \(plugin:hello\/greet\), field 'name'/);

    hello = await publish(pluginGraph('hello', 'plugin:hello/greet', { name: '{{ session.name }}' }));
    sayAnn = ann();
    expect(await sayAnn('hi')).toEqual(['Name?']);
    expect(await sayAnn('Ann')).toEqual(['Hello, Ann!', 'Name?']);
  });

  it('changing a helper module changes the next steps of the same session', async () => {
    writeFileSync(join(dir, 'hello', 'greeting.ts'), 'export function greetingFor(name: string): string {\n  return `Bonjour, ${name}!`;\n}\n');
    const replies = await eventually(async () => {
      const got = await sayAnn('Ann');
      return got[0]?.startsWith('Bonjour') ? got : undefined;
    }, 'the reloaded greeting', 15_000);
    expect(replies).toEqual(['Bonjour, Ann!', 'Name?']);
  });

  it('an endless loop is killed and reported while other sessions keep answering; removing it gives the compile error and the error port', async () => {
    mkdirSync(join(dir, 'looper'));
    writeFileSync(join(dir, 'looper', 'index.ts'), looper);
    await eventually(async () => ((await nodeTypes()).includes('plugin:looper/spin') ? true : undefined), 'plugin:looper/spin', 10_000);
    const loop = await publish(pluginGraph('looper', 'plugin:looper/spin', {}));
    const bob = visitor(loop.slug, 'bob');
    expect(await bob('hi')).toEqual(['Name?']);
    let stuckDone = false;
    const stuck = bob('Bob').finally(() => (stuckDone = true));
    await eventually(() => ((registry.get('looper')?.inFlight ?? 0) > 0 ? true : undefined), 'the looper call in flight', 5000);
    // Other sessions answer while the looper's thread spins (before it is killed).
    const carol = visitor(hello.slug, 'carol');
    expect(await carol('hi')).toEqual(['Name?']);
    expect(await carol('Carol')).toEqual(['Bonjour, Carol!', 'Name?']);
    expect(stuckDone).toBe(false);
    expect(await stuck).toEqual([expect.stringMatching(/^Failed: Plugin "looper" did not answer within 2000 ms and was stopped\.$/), 'Name?']);
    expect(registry.get('looper')).toMatchObject({ status: 'crashed', lastErrors: [{ message: expect.stringContaining('did not answer') }] });

    rmSync(join(dir, 'looper'), { recursive: true });
    await eventually(async () => ((await nodeTypes()).includes('plugin:looper/spin') ? undefined : true), 'looper gone from /node-types', 10_000);
    const validation = await t.api.post(`/api/v1/chains/${loop.id}/validate`).set(bearer(admin.token));
    expect(validation.body).toMatchObject({ ok: false, errors: [{ code: 'plugin_unknown', nodeId: 'p', message: expect.stringMatching(/no installed plugin provides this node type/) }] });
    // The running session reaching the node takes its error port with that message.
    expect(await bob('Bob')).toEqual([expect.stringMatching(/^Failed: Node type "plugin:looper\/spin": no installed plugin provides it/), 'Name?']);
  });
});
