// Plugins around the Telegram gateway, end to end (our Bot API test server, the API's
// gateway polling it, the worker): the example plugins of plugins/ in their real worker
// threads, plus two small test plugins in a temp folder (an after-message hook and a hook
// that never answers). The spam filter drops a link message before its session (the chain
// never sees it) or, in flag mode, annotates it as message.meta; /weather is answered by
// the weather plugin (Open-Meteo replaced by a loopback server with the same JSON) and sits
// in the bot's menus, while a chain's own /weather wins; the welcome plugin greets a member
// joining a group; a hook over its budget is recorded and the message goes on unchanged.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TelegramGateways } from '../../api/telegram/gateway.ts';
import { BUILTIN_PLUGINS_DIR, PluginRegistry } from '../../lib/plugins/host.ts';
import { setProcessPlugins } from '../../lib/plugins/process.ts';
import { runEvents } from '../support/dialogue.ts';
import { eventually } from '../support/stack.ts';
import { startTelegramStack, type TelegramStack } from './support.ts';

const extra = mkdtempSync(join(tmpdir(), 'cf-tg-plugins-'));
const kv = new Map<string, unknown>();
const settings: Record<string, Record<string, unknown>> = {};
let registry: PluginRegistry;
let meteo: Server;
let s: TelegramStack;
let gateways: TelegramGateways;

function testPlugin(id: string, body: string): void {
  mkdirSync(join(extra, id));
  writeFileSync(join(extra, id, 'index.ts'), `import { definePlugin } from 'chainflow/plugin-sdk';\nexport default definePlugin({ id: '${id}', version: '1.0.0', title: { en: '${id}', ru: '${id}' }, description: { en: 'test', ru: 'тест' }, ${body} });\n`);
}

beforeAll(async () => {
  meteo = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ latitude: 55.75, longitude: 37.62, current: { time: '2026-12-01T23:00', interval: 900, temperature_2m: -3.4, wind_speed_10m: 11.2, weather_code: 71 } }));
  });
  await new Promise<void>((resolve) => meteo.listen(0, '127.0.0.1', resolve));
  settings['spam-filter'] = { floodLimit: 50 };
  settings.weather = { baseUrl: `http://127.0.0.1:${(meteo.address() as AddressInfo).port}` };
  // After-message hook: keeps what the bot replied, per chat. The 'zz-' one never answers "slow" messages.
  testPlugin('after-log', `hooks: { async afterMessage(ctx, m) { await ctx.kv.set('after:' + m.chatId, m.replies); } }`);
  testPlugin('zz-stuck', `hooks: { beforeMessage(ctx, m) { if ((m.text ?? '').includes('slow')) for (;;) {} return { action: 'continue', text: (m.text ?? '').replace('colour', 'color') }; } }`);
  registry = new PluginRegistry({
    dirs: [BUILTIN_PLUGINS_DIR, extra],
    ssrfAllow: ['127.0.0.1/32'],
    // The hooks' budget with headroom for this loaded test machine (production: 200 ms).
    limits: { hookTimeoutMs: 1500 },
    services: {
      kvGet: async (id, key) => kv.get(`${id}/${key}`) as never,
      kvSet: async (id, key, value) => void kv.set(`${id}/${key}`, value),
      kvDelete: async (id, key) => void kv.delete(`${id}/${key}`),
      credential: async () => {
        throw new Error('no credentials here');
      },
      settings: (id) => (settings[id] ?? {}) as never,
    },
  });
  await registry.refresh();
  setProcessPlugins(registry);
  s = await startTelegramStack('tg-plugins');
  gateways = await s.gateways();
}, 120_000);

afterAll(async () => {
  await s?.close();
  setProcessPlugins(undefined);
  await registry?.close();
  meteo?.close();
  rmSync(extra, { recursive: true, force: true });
});

const echoGraph = {
  slug: 'echo',
  name: 'Echo',
  defaultLanguage: 'en',
  nodes: [
    { id: 'start', type: 'start', position: { x: 0, y: 0 }, data: { trigger: { kind: 'any' } } },
    { id: 'say', type: 'message', position: { x: 200, y: 0 }, data: { text: 'Echo: {{ message.text }} [{{ message.meta.spam_filter.spam }}]' } },
    { id: 'help', type: 'start', position: { x: 0, y: 200 }, data: { trigger: { kind: 'command', command: '/help', description: 'Help' } } },
    { id: 'helped', type: 'message', position: { x: 200, y: 200 }, data: { text: 'Chain help' } },
  ],
  edges: [
    { id: 'e1', source: 'start', target: 'say' },
    { id: 'e2', source: 'help', target: 'helped' },
  ],
};

describe('plugins in the Telegram gateway', () => {
  it('drops spam before the session, annotates in flag mode, answers a plugin command, greets joining members, fails open', async () => {
    const chain = await s.publish(echoGraph);
    const bot = s.server.createBot({ username: 'plugged_bot' });
    const ann = s.server.createUser({ first_name: 'Ann', language_code: 'en' });
    const botId = await s.addBot(bot, chain.chainId);
    await eventually(async () => (gateways.held().includes(botId) ? true : undefined), 'the gateway to take the bot');

    // The menus: the chain's /help and the weather plugin's /weather, in English and Russian.
    await s.server.waitFor(() => (s.server.commands(bot).length === 2 ? true : undefined), { what: 'the menu with the plugin command', timeout: 15_000 });
    expect(s.server.commands(bot)).toEqual([{ command: 'help', description: 'Help' }, { command: 'weather', description: 'Current weather: /weather <latitude> <longitude>' }]);
    await s.server.waitFor(() => (s.server.commands(bot, { type: 'default' }, 'ru').length === 2 ? true : undefined), { what: 'the Russian menu', timeout: 15_000 });
    expect(s.server.commands(bot, { type: 'default' }, 'ru')).toContainEqual({ command: 'weather', description: 'Погода сейчас: /weather <широта> <долгота>' });

    ann.send(bot, 'hello colour');
    // zz-stuck changed the text before the session saw it; after-log kept the reply.
    expect((await ann.nextMessage({ timeout: 20_000 })).text).toBe('Echo: hello color []');
    await eventually(async () => ((kv.get(`after-log/after:${ann.id}`) as string[] | undefined)?.[0] === 'Echo: hello color []' ? true : undefined), 'the after-message hook');

    // Dropped by the spam filter: the chain never sees it.
    ann.send(bot, 'cheap pills at https://spam.example/buy');
    ann.send(bot, 'still here');
    expect((await ann.nextMessage({ timeout: 20_000 })).text).toBe('Echo: still here []');
    const workflowId = `chat:${botId}:${ann.id}`;
    const inbound = (await runEvents(s.t.h.db, workflowId)).filter((e) => e.type === 'message.in').map((e) => JSON.stringify(e.payload));
    expect(inbound.some((p) => p.includes('hello color'))).toBe(true);
    expect(inbound.some((p) => p.includes('spam.example'))).toBe(false);

    // Flag mode: it goes on, annotated as message.meta.spam_filter.
    settings['spam-filter'] = { mode: 'flag', floodLimit: 50 };
    ann.send(bot, 'see www.spam.example');
    expect((await ann.nextMessage({ timeout: 20_000 })).text).toBe('Echo: see www.spam.example [link]');

    // A plugin command the chain does not take: the plugin answers, no session step.
    ann.sendCommand(bot, '/weather 55.75 37.62');
    expect((await ann.nextMessage({ timeout: 20_000 })).text).toBe('Weather (55.75, 37.62): -3°C, snow, wind 11 km/h');
    ann.sendCommand(bot, '/help');
    expect((await ann.nextMessage({ timeout: 20_000 })).text).toBe('Chain help');
    expect(ann.messagesFrom(bot).map((m) => m.text)).not.toContain('Echo: /weather 55.75 37.62 []');

    // A hook that never answers: recorded as its plugin's error, the message goes on unchanged.
    ann.send(bot, 'slow colour');
    expect((await ann.nextMessage({ timeout: 20_000 })).text).toBe('Echo: slow colour []');
    expect(registry.get('zz-stuck')?.lastErrors[0]?.message).toMatch(/zz-stuck/);

    // The welcome plugin greets a member joining a group (not the bot itself when added).
    const olga = s.server.createUser({ first_name: 'Olga', language_code: 'ru' });
    const group = s.server.createGroup({ title: 'Chess club', type: 'supergroup', members: [olga] });
    group.addBot(bot, { by: olga });
    const boris = s.server.createUser({ first_name: 'Борис', language_code: 'ru' });
    group.join(boris);
    expect((await group.nextMessage({ bot, timeout: 20_000 })).text).toBe('Добро пожаловать в Chess club, Борис!');
  }, 120_000);

  it('lets a chain with its own /weather take it (the chain wins over the plugin)', async () => {
    const own = await s.publish({
      slug: 'own-weather',
      name: 'Own weather',
      nodes: [
        { id: 'start', type: 'start', position: { x: 0, y: 0 }, data: { trigger: { kind: 'command', command: '/weather', description: 'Our forecast' } } },
        { id: 'say', type: 'message', position: { x: 200, y: 0 }, data: { text: 'Chain weather: sunny' } },
      ],
      edges: [{ id: 'e1', source: 'start', target: 'say' }],
    });
    const bot = s.server.createBot({ username: 'own_weather_bot' });
    const vera = s.server.createUser({ first_name: 'Vera' });
    const botId = await s.addBot(bot, own.chainId);
    await eventually(async () => (gateways.held().includes(botId) ? true : undefined), 'the gateway to take the bot');
    await s.server.waitFor(() => (s.server.commands(bot).length === 1 ? true : undefined), { what: 'the menu', timeout: 15_000 });
    expect(s.server.commands(bot)).toEqual([{ command: 'weather', description: 'Our forecast' }]);
    vera.sendCommand(bot, '/weather 1 2');
    expect((await vera.nextMessage({ timeout: 20_000 })).text).toBe('Chain weather: sunny');
  }, 60_000);
});
