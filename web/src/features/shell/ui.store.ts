import { defineStore } from 'pinia';
import { ref, watch } from 'vue';
import { i18n, initialLocale, saveLocale, type Locale } from '../../i18n/index.ts';

export type Theme = 'light' | 'dark';
const THEME_KEY = 'chainflow.theme';

function initialTheme(): Theme {
  const saved = localStorage.getItem(THEME_KEY);
  if (saved === 'light' || saved === 'dark') return saved;
  return globalThis.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

/** Language and theme: the saved choice, else the browser's preference. */
export const useUiStore = defineStore('ui', () => {
  const locale = ref<Locale>(initialLocale());
  const theme = ref<Theme>(initialTheme());

  watch(
    locale,
    (next) => {
      i18n.global.locale.value = next;
      saveLocale(next);
    },
    { immediate: true },
  );
  watch(
    theme,
    (next) => {
      localStorage.setItem(THEME_KEY, next);
      document.documentElement.dataset.theme = next;
    },
    { immediate: true },
  );

  const toggleLocale = () => (locale.value = locale.value === 'en' ? 'ru' : 'en');
  const toggleTheme = () => (theme.value = theme.value === 'light' ? 'dark' : 'light');
  return { locale, theme, toggleLocale, toggleTheme };
});
