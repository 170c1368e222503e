import type { Messages } from './en.ts';

export const ru: Messages = {
  app: {
    tagline: 'Telegram-боты и ИИ-агенты в виде цепочек диалога; каждая сессия — надёжный workflow.',
    language: 'Язык',
  },
  status: {
    title: 'Состояние системы',
    checking: 'Проверка…',
    ready: 'Готово',
    unavailable: 'Недоступно',
    postgres: 'PostgreSQL',
    temporal: 'Temporal',
    openTemporalUi: 'Открыть Temporal UI',
    refresh: 'Проверить снова',
  },
};
