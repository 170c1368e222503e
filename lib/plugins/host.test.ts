import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../test/support/poll.ts';
import { PluginRegistry, type PluginServices } from './host.ts';

// Real worker threads over plugin folders written to a temp dir (never the repo's plugins/).
const dir = mkdtempSync(join(tmpdir(), 'cf-plugins-'));
const kv = new Map<string, unknown>();
const settings: Record<string, Record<string, string>> = {};
const services: PluginServices = {
  kvGet: async (id, key) => kv.get(`${id}/${key}`) as never,
  kvSet: async (id, key, value) => void kv.set(`${id}/${key}`, value),
  kvDelete: async (id, key) => void kv.delete(`${id}/${key}`),
  credential: async () => 'secret-value',
  settings: (id) => settings[id] ?? {},
};

function writePlugin(id: string, files: Record<string, string>) {
  mkdirSync(join(dir, id), { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, id, name), text);
}

const greeter = (greeting: string) => ({
  'helper.ts': `export const greeting = ${JSON.stringify(greeting)};\n`,
  'index.ts': `import { definePlugin, node, z } from 'chainflow/plugin-sdk';
import { greeting } from './helper.ts';
export default definePlugin({
  id: 'greeter', version: '1.0.0',
  title: { en: 'Greeter', ru: 'Приветствие' }, description: { en: 'Greets', ru: 'Приветствует' },
  permissions: { network: ['settings:baseUrl'] },
  settings: z.object({ baseUrl: z.string().default('https://example.invalid') }),
  nodes: {
    greet: node({ label: { en: 'Greet', ru: 'Привет' }, help: { en: 'h', ru: 'п' },
      config: z.object({ name: z.string().min(1) }),
      run: async (ctx, config) => {
        const count = ((await ctx.kv.get('count')) as number | undefined ?? 0) + 1;
        await ctx.kv.set('count', count);
        return { ok: true, set: { 'session.greeting': greeting + ', ' + config.name, 'session.count': count } };
      } }),
    fetch: node({ label: { en: 'Fetch', ru: 'Запрос' }, help: { en: 'h', ru: 'п' },
      config: z.object({ url: z.string() }),
      run: async (ctx, config) => ({ ok: true, set: { 'session.body': await (await ctx.fetch(config.url)).text() } }) }),
  },
});
`,
});

const looper = {
  'index.ts': `import { definePlugin, node, z } from 'chainflow/plugin-sdk';
export default definePlugin({
  id: 'looper', version: '1.0.0', title: { en: 'L', ru: 'L' }, description: { en: 'L', ru: 'L' },
  nodes: {
    spin: node({ label: { en: 'Spin', ru: 'Цикл' }, help: { en: 'h', ru: 'п' }, config: z.object({}),
      run: () => { for (;;) { /* never returns */ } } }),
    leak: node({ label: { en: 'Leak', ru: 'Утечка' }, help: { en: 'h', ru: 'п' }, config: z.object({}),
      run: () => { const keep = []; for (;;) keep.push(new Array(1e5).fill(Math.random())); } }),
    fine: node({ label: { en: 'Fine', ru: 'Ок' }, help: { en: 'h', ru: 'п' }, config: z.object({}), run: () => ({ ok: true, set: { 'session.fine': true } }) }),
  },
});
`,
};

let server: Server;
let base: string;
let registry: PluginRegistry;

beforeAll(async () => {
  server = createServer((_req, res) => res.end('hello from loopback'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  writePlugin('greeter', greeter('Hello'));
  registry = new PluginRegistry({ dirs: [dir], services, ssrfAllow: ['127.0.0.1/32'], limits: { callTimeoutMs: 1500, maxOldGenerationSizeMb: 32 }, pollMs: 300 });
  await registry.start();
});

afterAll(async () => {
  await registry.close();
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

const greet = (name: unknown) => registry.call('greeter', { kind: 'node', key: 'greet', config: { name } as never, vars: {}, runId: 'r', nodeId: 'n' });

describe('plugin registry', () => {
  it('loads a plugin folder and runs its node in a worker thread, with its kv store', async () => {
    expect(registry.installedTypes()).toEqual(['plugin:greeter/greet', 'plugin:greeter/fetch']);
    expect(await greet('Ann')).toEqual({ kind: 'node', outcome: { ok: true, set: { 'session.greeting': 'Hello, Ann', 'session.count': 1 } } });
    expect(await greet('Bob')).toMatchObject({ outcome: { set: { 'session.count': 2 } } });
  });

  it('validates config against the node schema', async () => {
    expect(await registry.call('greeter', { kind: 'validate', key: 'greet', config: { name: '' } })).toMatchObject({ issues: [{ path: 'name' }] });
    expect(await greet(5)).toMatchObject({ outcome: { ok: false, error: { code: 'plugin_config_invalid' } } });
  });

  it('refuses an undeclared host and allows the one of its settings', async () => {
    const run = () => registry.call('greeter', { kind: 'node', key: 'fetch', config: { url: `${base}/x` }, vars: {}, runId: 'r', nodeId: 'n' });
    expect(await run()).toMatchObject({ outcome: { ok: false, error: { code: 'plugin_failed', message: expect.stringMatching(/may not reach host "127.0.0.1"/) } } });
    settings.greeter = { baseUrl: base };
    expect(await run()).toMatchObject({ outcome: { ok: true, set: { 'session.body': 'hello from loopback' } } });
  });

  it('a changed helper module changes new calls (a new thread, the old one retired)', async () => {
    const before = registry.changeCount;
    writePlugin('greeter', { 'helper.ts': greeter('Privet')['helper.ts'] });
    await eventually(() => (registry.changeCount > before ? true : undefined), 'the reload', 10_000);
    expect(await greet('Ann')).toMatchObject({ outcome: { set: { 'session.greeting': 'Privet, Ann' } } });
    expect(registry.get('greeter')?.reloads).toBe(1);
  });

  it('kills a plugin in an endless loop or out of memory; others keep answering, the next call gets a fresh thread', async () => {
    writePlugin('looper', looper);
    await eventually(() => (registry.installedTypes().includes('plugin:looper/spin') ? true : undefined), 'looper loaded', 10_000);
    const spin = registry.call('looper', { kind: 'node', key: 'spin', config: {}, vars: {}, runId: 'r', nodeId: 'n' });
    expect(await greet('during')).toMatchObject({ outcome: { ok: true } });
    await expect(spin).rejects.toMatchObject({ code: 'plugin_timeout' });
    expect(registry.get('looper')).toMatchObject({ status: 'crashed', lastErrors: [{ message: expect.stringMatching(/did not answer within 1500 ms/) }] });
    await expect(registry.call('looper', { kind: 'node', key: 'leak', config: {}, vars: {}, runId: 'r', nodeId: 'n' })).rejects.toMatchObject({ code: expect.stringMatching(/plugin_crashed|plugin_timeout/) });
    expect(await registry.call('looper', { kind: 'node', key: 'fine', config: {}, vars: {}, runId: 'r', nodeId: 'n' })).toMatchObject({ outcome: { ok: true } });
  });

  it('a removed plugin is gone from the node types and calls name it', async () => {
    rmSync(join(dir, 'looper'), { recursive: true });
    await eventually(() => (registry.installedTypes().includes('plugin:looper/fine') ? undefined : true), 'looper removed', 10_000);
    await expect(registry.call('looper', { kind: 'node', key: 'fine', config: {}, vars: {}, runId: 'r', nodeId: 'n' })).rejects.toMatchObject({ code: 'plugin_not_installed', message: expect.stringMatching(/Plugin "looper" is not installed/) });
  });
});

describe('threads on demand (the worker)', () => {
  it('reads the manifest at load, starts the thread at the first call and keeps it for the next', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'cf-plugins-lazy-'));
    mkdirSync(join(folder, 'clock'));
    writeFileSync(join(folder, 'clock', 'index.ts'), `import { definePlugin, node, z } from 'chainflow/plugin-sdk';
const loadedAt = Date.now();
let calls = 0;
export default definePlugin({
  id: 'clock', version: '1.0.0', title: { en: 'C', ru: 'C' }, description: { en: 'C', ru: 'C' },
  nodes: { when: node({ label: { en: 'When', ru: 'Когда' }, help: { en: 'h', ru: 'п' }, config: z.object({}), run: () => ({ ok: true, set: { 'session.loadedAt': loadedAt, 'session.calls': ++calls } }) }) },
});
`);
    const lazy = new PluginRegistry({ dirs: [folder], threadsOnDemand: true, pollMs: 60_000 });
    try {
      await lazy.start();
      expect(lazy.installedTypes()).toEqual(['plugin:clock/when']);
      expect(lazy.get('clock')).toMatchObject({ status: 'loaded', version: '1.0.0' });
      const loaded = Date.now();
      while (Date.now() <= loaded) {
        // the next millisecond: a thread started by the call below evaluates its module later
      }
      const call = () => lazy.call('clock', { kind: 'node', key: 'when', config: {}, vars: {}, runId: 'r', nodeId: 'n' });
      const first = await call();
      expect(first).toMatchObject({ outcome: { ok: true, set: { 'session.calls': 1, 'session.loadedAt': expect.any(Number) } } });
      const loadedAt = (first as { outcome: { set: Record<string, number> } }).outcome.set['session.loadedAt'] ?? 0;
      expect(loadedAt).toBeGreaterThan(loaded);
      expect(await call()).toMatchObject({ outcome: { set: { 'session.calls': 2, 'session.loadedAt': loadedAt } } });
    } finally {
      await lazy.close();
      rmSync(folder, { recursive: true, force: true });
    }
  }, 30_000);
});

describe('reload memory', () => {
  it('three reloads (a new thread each, the old one terminated) leave RSS within 20 MB of one', async () => {
    const { measureReloads } = await import('../../bench/plugin-reload.ts');
    const { afterOneMb, afterAllMb } = await measureReloads(4);
    expect(afterAllMb - afterOneMb).toBeLessThanOrEqual(20);
  });
});
