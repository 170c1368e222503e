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
});

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
