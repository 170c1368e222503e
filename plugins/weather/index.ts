import { definePlugin, node, z, type PluginContext } from 'chainflow/plugin-sdk';
import { describeWeather, type Forecast } from './describe.ts';

type Current = NonNullable<Forecast['current']>;

/** The current weather at a place from Open-Meteo (at the baseUrl setting), or why not. */
async function currentWeather(ctx: PluginContext, latitude: number, longitude: number): Promise<{ ok: true; current: Current } | { ok: false; code: string; message: string }> {
  const base = String(ctx.settings.baseUrl ?? 'https://api.open-meteo.com').replace(/\/+$/, '');
  const url = `${base}/v1/forecast?latitude=${latitude}&longitude=${longitude}&current=temperature_2m,wind_speed_10m,weather_code`;
  const response = await ctx.fetch(url);
  if (response.status !== 200) return { ok: false, code: 'weather_status', message: `Open-Meteo answered ${response.status}` };
  const forecast = (await response.json()) as Forecast;
  if (!forecast.current) return { ok: false, code: 'weather_invalid', message: 'Open-Meteo answered without "current"' };
  return { ok: true, current: forecast.current };
}

export default definePlugin({
  id: 'weather',
  version: '1.0.0',
  title: { en: 'Weather', ru: 'Погода' },
  description: { en: 'Current weather from Open-Meteo (no API key).', ru: 'Текущая погода из Open-Meteo (без ключа API).' },
  author: 'Chainflow',
  chainflow: '>=0.1.0',
  // The Open-Meteo host, or whatever host the baseUrl setting names.
  permissions: { network: ['api.open-meteo.com', 'settings:baseUrl'] },
  settings: z.object({ baseUrl: z.string().default('https://api.open-meteo.com') }),
  nodes: {
    current: node({
      label: { en: 'Current weather', ru: 'Текущая погода' },
      help: { en: "Looks up the current weather at a place; 'error' when Open-Meteo does not answer.", ru: "Узнаёт текущую погоду в точке; 'error', если Open-Meteo не отвечает." },
      icon: 'cloud-sun',
      config: z.object({
        latitude: z.coerce.number().min(-90).max(90).meta({ label: { en: 'Latitude', ru: 'Широта' }, help: { en: 'e.g. 55.75; templates allowed', ru: 'например 55.75; можно шаблоны' } }),
        longitude: z.coerce.number().min(-180).max(180).meta({ label: { en: 'Longitude', ru: 'Долгота' } }),
        variable: z.string().default('session.weather').meta({ label: { en: 'Save to', ru: 'Сохранить в' } }),
      }),
      async run(ctx, config) {
        const got = await currentWeather(ctx, config.latitude, config.longitude);
        if (!got.ok) return { ok: false, error: { code: got.code, message: got.message } };
        const current = got.current;
        return { ok: true, set: { [config.variable]: { temperature: current.temperature_2m, wind: current.wind_speed_10m, code: current.weather_code, text: describeWeather(current) } } };
      },
    }),
  },
  commands: {
    weather: {
      description: { en: 'Current weather: /weather <latitude> <longitude>', ru: 'Погода сейчас: /weather <широта> <долгота>' },
      async run(ctx, { args, message }) {
        const ru = message.language?.toLowerCase().startsWith('ru');
        const [lat, lon] = args.split(/[\s,]+/).filter(Boolean).map(Number);
        if (lat === undefined || lon === undefined || !Number.isFinite(lat) || !Number.isFinite(lon) || Math.abs(lat) > 90 || Math.abs(lon) > 180) {
          return ru ? 'Напишите так: /weather 55.75 37.62 (широта и долгота)' : 'Write it like this: /weather 55.75 37.62 (latitude and longitude)';
        }
        const got = await currentWeather(ctx, lat, lon);
        if (!got.ok) return ru ? `Погода сейчас недоступна (${got.message}).` : `The weather is not available now (${got.message}).`;
        return `${ru ? 'Погода' : 'Weather'} (${lat}, ${lon}): ${describeWeather(got.current)}`;
      },
    },
  },
  webTab: { title: { en: 'Weather', ru: 'Погода' }, dir: 'web' },
});
