import { createI18n } from 'vue-i18n';
import { en } from './en.ts';
import { ru } from './ru.ts';

export type Locale = 'en' | 'ru';
export const locales: readonly Locale[] = ['en', 'ru'];
const STORAGE_KEY = 'chainflow.locale';

/** The saved choice, else the browser's language, else English. */
export function initialLocale(): Locale {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (saved === 'en' || saved === 'ru') return saved;
  return navigator.language.toLowerCase().startsWith('ru') ? 'ru' : 'en';
}

export function saveLocale(locale: Locale): void {
  localStorage.setItem(STORAGE_KEY, locale);
  document.documentElement.lang = locale;
}

/** Picks the text of a `{en, ru}` value from the API (node labels and help). */
export function localized(text: { en: string; ru: string } | undefined, locale: string): string {
  if (!text) return '';
  return locale === 'ru' ? text.ru || text.en : text.en;
}

export const i18n = createI18n({
  legacy: false,
  locale: initialLocale(),
  fallbackLocale: 'en',
  messages: { en, ru },
  // A missing key is a bug: it is logged as an error, which fails the browser tests.
  missing: (locale, key) => {
    console.error(`[i18n] missing key "${key}" in locale "${locale}"`);
  },
  missingWarn: false,
  fallbackWarn: false,
});
