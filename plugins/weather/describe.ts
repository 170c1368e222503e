/** The part of Open-Meteo's /v1/forecast answer this plugin reads. */
export interface Forecast {
  current?: { temperature_2m: number; wind_speed_10m: number; weather_code: number };
}

/** WMO weather codes (Open-Meteo's `weather_code`) in words. */
const CODES: [number, string][] = [
  [0, 'clear sky'],
  [3, 'cloudy'],
  [48, 'fog'],
  [57, 'drizzle'],
  [67, 'rain'],
  [77, 'snow'],
  [82, 'rain showers'],
  [86, 'snow showers'],
  [99, 'thunderstorm'],
];

export function describeWeather(current: NonNullable<Forecast['current']>): string {
  const words = CODES.find(([upTo]) => current.weather_code <= upTo)?.[1] ?? 'unknown';
  return `${Math.round(current.temperature_2m)}°C, ${words}, wind ${Math.round(current.wind_speed_10m)} km/h`;
}
