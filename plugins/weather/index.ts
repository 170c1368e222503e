import { definePlugin, node, z } from 'chainflow/plugin-sdk';
import { describeWeather, type Forecast } from './describe.ts';

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
        const base = String(ctx.settings.baseUrl ?? 'https://api.open-meteo.com').replace(/\/+$/, '');
        const url = `${base}/v1/forecast?latitude=${config.latitude}&longitude=${config.longitude}&current=temperature_2m,wind_speed_10m,weather_code`;
        const response = await ctx.fetch(url);
        if (response.status !== 200) return { ok: false, error: { code: 'weather_status', message: `Open-Meteo answered ${response.status}` } };
        const forecast = (await response.json()) as Forecast;
        const current = forecast.current;
        if (!current) return { ok: false, error: { code: 'weather_invalid', message: 'Open-Meteo answered without "current"' } };
        return { ok: true, set: { [config.variable]: { temperature: current.temperature_2m, wind: current.wind_speed_10m, code: current.weather_code, text: describeWeather(current) } } };
      },
    }),
  },
});
