export const en = {
  app: {
    tagline: 'Telegram bots and AI agents as dialogue chains, every session a durable workflow.',
    language: 'Language',
  },
  status: {
    title: 'System status',
    checking: 'Checking…',
    ready: 'Ready',
    unavailable: 'Unavailable',
    postgres: 'PostgreSQL',
    temporal: 'Temporal',
    openTemporalUi: 'Open the Temporal UI',
    refresh: 'Check again',
  },
};
export type Messages = typeof en;
