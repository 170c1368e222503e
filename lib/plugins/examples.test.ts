import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_PLUGINS_DIR, PluginRegistry } from './host.ts';

// The example plugins in plugins/, each in its real worker thread. Open-Meteo is replaced
// by a loopback server answering the same JSON (its /v1/forecast shape).
let server: Server;
let base: string;
let asked: string[] = [];
const kv = new Map<string, unknown>();
const settings: Record<string, Record<string, unknown>> = {};
let registry: PluginRegistry;

beforeAll(async () => {
  server = createServer((req, res) => {
    asked.push(req.url ?? '');
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ latitude: 55.75, longitude: 37.62, current_units: { temperature_2m: '°C' }, current: { time: '2026-12-01T23:00', interval: 900, temperature_2m: -3.4, wind_speed_10m: 11.2, weather_code: 71 } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  registry = new PluginRegistry({
    dirs: [BUILTIN_PLUGINS_DIR],
    ssrfAllow: ['127.0.0.1/32'],
    services: {
      kvGet: async (id, key) => kv.get(`${id}/${key}`) as never,
      kvSet: async (id, key, value) => void kv.set(`${id}/${key}`, value),
      kvDelete: async (id, key) => void kv.delete(`${id}/${key}`),
      credential: async () => {
        throw new Error('no credentials in this test');
      },
      settings: (id) => (settings[id] ?? {}) as never,
    },
  });
  await registry.refresh();
}, 60_000);

afterAll(async () => {
  await registry.close();
  server.close();
});

describe('weather plugin', () => {
  const run = () => registry.call('weather', { kind: 'node', key: 'current', config: { latitude: '55.75', longitude: 37.62 }, vars: {}, runId: 'r', nodeId: 'n' });

  it('reads the current weather from Open-Meteo at the configured base URL', async () => {
    settings.weather = { baseUrl: base };
    asked = [];
    expect(await run()).toEqual({ kind: 'node', outcome: { ok: true, set: { 'session.weather': { temperature: -3.4, wind: 11.2, code: 71, text: '-3°C, snow, wind 11 km/h' } } } });
    expect(asked).toEqual(['/v1/forecast?latitude=55.75&longitude=37.62&current=temperature_2m,wind_speed_10m,weather_code']);
  });
});

describe('weather command', () => {
  const command = (args: string, language?: string) => registry.call('weather', { kind: 'command', name: 'weather', args, message: { botId: 'b', chatId: '1', ...(language ? { language } : {}) } });

  it('answers /weather lat lon with the current weather, and explains the form in the sender\'s language', async () => {
    settings.weather = { baseUrl: base };
    expect(await command('55.75 37.62')).toEqual({ kind: 'command', reply: 'Weather (55.75, 37.62): -3°C, snow, wind 11 km/h' });
    expect(await command('', 'ru')).toEqual({ kind: 'command', reply: 'Напишите так: /weather 55.75 37.62 (широта и долгота)' });
    expect(registry.commands()).toContainEqual({ command: 'weather', name: 'weather', pluginId: 'weather', description: { en: 'Current weather: /weather <latitude> <longitude>', ru: 'Погода сейчас: /weather <широта> <долгота>' } });
  });
});

describe('welcome plugin', () => {
  const joined = (members: { id: string; first_name?: string; username?: string; language_code?: string; is_bot?: boolean }[]) =>
    registry.call('welcome', { kind: 'memberJoined', event: { botId: 'b', chatId: '-100', chatType: 'supergroup', chatTitle: 'Chess club', members } });

  it('greets new members by name in their language, one message for several, and skips bots', async () => {
    expect(await joined([{ id: '1', first_name: 'Ann', language_code: 'en' }])).toEqual({ kind: 'memberJoined', reply: 'Welcome to Chess club, Ann!' });
    expect(await joined([{ id: '2', first_name: 'Борис', language_code: 'ru' }, { id: '3', username: 'vera' }, { id: '4', first_name: 'Gleb' }])).toEqual({ kind: 'memberJoined', reply: 'Добро пожаловать в Chess club, Борис, @vera и Gleb!' });
    expect(await joined([{ id: '5', first_name: 'Robo', is_bot: true }])).toEqual({ kind: 'memberJoined' });
  });

  it('takes the greeting and language from its settings', async () => {
    settings.welcome = { greeting: { en: 'Hi {name}, read the rules', ru: 'Привет, {name}! Прочтите правила' }, language: 'ru' };
    expect(await joined([{ id: '1', first_name: 'Ann', language_code: 'en' }])).toEqual({ kind: 'memberJoined', reply: 'Привет, Ann! Прочтите правила' });
    delete settings.welcome;
  });
});

describe('jsonata plugin', () => {
  const run = (config: Record<string, unknown>, vars: Record<string, unknown> = {}) => registry.call('jsonata', { kind: 'node', key: 'transform', config: config as never, vars: vars as never, runId: 'r', nodeId: 'n' });

  it('transforms the rendered input (JSON or, when empty, the variables) into a variable', async () => {
    const order = JSON.stringify({ items: [{ name: 'tea', price: 3, qty: 2 }, { name: 'cake', price: 4.5, qty: 1 }] });
    expect(await run({ expression: '$sum(items.(price * qty))', input: order, variable: 'session.total' })).toEqual({ kind: 'node', outcome: { ok: true, set: { 'session.total': 10.5 } } });
    expect(await run({ expression: 'items[price > 3].name', input: order })).toEqual({ kind: 'node', outcome: { ok: true, set: { 'session.result': 'cake' } } });
    expect(await run({ expression: '$uppercase(user.first_name) & "!"' }, { user: { first_name: 'ann' } })).toEqual({ kind: 'node', outcome: { ok: true, set: { 'session.result': 'ANN!' } } });
    expect(await run({ expression: 'missing', input: '{}' })).toEqual({ kind: 'node', outcome: { ok: true, set: { 'session.result': null } } });
  });

  it('leaves through error with JSONata\'s message when the expression does not parse or fails', async () => {
    const bad = await run({ expression: 'items[', input: '{}' });
    expect(bad).toMatchObject({ kind: 'node', outcome: { ok: false, error: { code: 'jsonata_failed' } } });
    expect((bad as { outcome: { error: { message: string } } }).outcome.error.message).toMatch(/^the expression does not parse: .+\(at \d+/);
    const failing = await run({ expression: '$number("x")', input: '{}' });
    expect(failing).toMatchObject({ kind: 'node', outcome: { ok: false, error: { code: 'jsonata_failed' } } });
    expect((failing as { outcome: { error: { message: string } } }).outcome.error.message).toMatch(/^evaluating the expression failed: /);
  });
});

describe('spam filter plugin', () => {
  const message = (text: string, userId = 'u1') => registry.call('spam-filter', { kind: 'beforeMessage', message: { botId: 'b', chatId: 'c', userId, text } });

  it('drops links and stop words, lets ordinary text through', async () => {
    expect(await message('hello there')).toEqual({ kind: 'beforeMessage', result: { action: 'continue' } });
    expect(await message('see https://spam.example/x')).toEqual({ kind: 'beforeMessage', result: { action: 'drop', reason: 'link' } });
    expect(await message('Best CASINO bonus', 'u2')).toEqual({ kind: 'beforeMessage', result: { action: 'drop', reason: 'stop word "casino"' } });
  });

  it('flags instead of dropping in flag mode, and catches floods', async () => {
    settings['spam-filter'] = { mode: 'flag', floodLimit: 3 };
    expect(await message('t.me/joinchat', 'u3')).toEqual({ kind: 'beforeMessage', result: { action: 'continue', annotations: { spam: 'link' } } });
    for (let i = 0; i < 2; i++) expect(await message(`msg ${i}`, 'u4')).toMatchObject({ result: { action: 'continue' } });
    expect(await message('msg 2', 'u4')).toEqual({ kind: 'beforeMessage', result: { action: 'continue' } });
    expect(await message('msg 3', 'u4')).toEqual({ kind: 'beforeMessage', result: { action: 'continue', annotations: { spam: 'flood: more than 3 messages in the window' } } });
  });
});
