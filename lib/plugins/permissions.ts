import type { Json } from '../plugin-sdk.ts';

/**
 * True when a plugin's declared network permissions cover `hostname`. Entries are host
 * names (`api.open-meteo.com`), suffixes (`*.example.com`) or `settings:<key>`, which
 * stands for the host of the URL in that setting (a configurable base URL).
 */
export function hostPermitted(network: readonly string[], settings: Record<string, Json>, hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  return network.some((entry) => {
    if (entry.startsWith('settings:')) {
      const value = settings[entry.slice('settings:'.length)];
      if (typeof value !== 'string') return false;
      try {
        return new URL(value).hostname.toLowerCase().replace(/^\[|\]$/g, '') === host;
      } catch {
        return false;
      }
    }
    const name = entry.toLowerCase();
    return name.startsWith('*.') ? host.endsWith(name.slice(1)) : host === name;
  });
}
