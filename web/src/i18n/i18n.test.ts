import { describe, expect, it } from 'vitest';
import { en } from './en.ts';
import { ru } from './ru.ts';

function keys(value: unknown, prefix = ''): string[] {
  if (typeof value !== 'object' || value === null) return [prefix];
  return Object.entries(value).flatMap(([k, v]) => keys(v, prefix ? `${prefix}.${k}` : k));
}

const sources = import.meta.glob(['../**/*.vue', '../**/*.ts', '!../**/*.test.ts', '!../i18n/**', '!../api/openapi.ts'], { query: '?raw', import: 'default', eager: true });

describe('UI texts', () => {
  it('have the same keys in English and Russian', () => {
    expect(keys(ru).sort()).toEqual(keys(en).sort());
  });

  it('have no empty translation', () => {
    for (const [name, messages] of Object.entries({ en, ru })) {
      const empty = keys(messages).filter((key) => key.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown>)[k], messages) === '');
      expect(empty, name).toEqual([]);
    }
  });

  it('define every key the sources use literally', () => {
    const known = new Set(keys(en));
    const used = new Set<string>();
    for (const text of Object.values(sources)) {
      for (const match of String(text).matchAll(/\bt\(\s*'([a-zA-Z][\w.]+)'/g)) used.add(match[1]!);
    }
    expect(used.size).toBeGreaterThan(50);
    expect([...used].filter((key) => !known.has(key)).sort()).toEqual([]);
  });
});
