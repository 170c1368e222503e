import { definePlugin, z } from 'chainflow/plugin-sdk';
import { greetingFor, type WelcomeSettings } from './greeting.ts';

export default definePlugin({
  id: 'welcome',
  version: '1.0.0',
  title: { en: 'Welcome', ru: 'Приветствие' },
  description: { en: 'Greets people who join a group, in their language.', ru: 'Приветствует тех, кто вступил в группу, на их языке.' },
  author: 'Chainflow',
  chainflow: '>=0.1.0',
  settings: z.object({
    /** `{name}`: the new members' names; `{chat}`: the group's title. */
    greeting: z
      .object({ en: z.string().min(1).max(1000), ru: z.string().min(1).max(1000) })
      .default({ en: 'Welcome to {chat}, {name}!', ru: 'Добро пожаловать в {chat}, {name}!' }),
    /** 'auto': the first new member's Telegram language (ru, else en). */
    language: z.enum(['auto', 'en', 'ru']).default('auto'),
    greetBots: z.boolean().default(false),
  }),
  hooks: {
    memberJoined(ctx, event) {
      const text = greetingFor(event.members, event.chatTitle, ctx.settings as unknown as WelcomeSettings);
      return text ? { reply: text } : {};
    },
  },
});
