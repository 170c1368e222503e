import { definePlugin, z } from 'chainflow/plugin-sdk';
import { judge } from './rules.ts';

export default definePlugin({
  id: 'spam-filter',
  version: '1.0.0',
  title: { en: 'Spam filter', ru: 'Антиспам' },
  description: { en: 'Drops or flags messages with links, floods and stop words before a session sees them.', ru: 'Отбрасывает или помечает сообщения со ссылками, флудом и стоп-словами до того, как их увидит сессия.' },
  author: 'Chainflow',
  chainflow: '>=0.1.0',
  settings: z.object({
    mode: z.enum(['drop', 'flag']).default('drop'),
    blockLinks: z.boolean().default(true),
    stopWords: z.array(z.string()).default(['casino', 'crypto giveaway']),
    /** At most this many messages per user and chat within `floodWindowSeconds`. */
    floodLimit: z.number().int().min(1).default(5),
    floodWindowSeconds: z.number().int().min(1).default(10),
  }),
  hooks: {
    async beforeMessage(ctx, message) {
      const settings = ctx.settings as { mode: 'drop' | 'flag'; blockLinks: boolean; stopWords: string[]; floodLimit: number; floodWindowSeconds: number };
      // The text alone first (no store round trip within the hook's 200 ms), then the flood count.
      let reason = judge(message.text ?? '', 0, settings);
      if (!reason) {
        const key = `flood:${message.botId}:${message.chatId}:${message.userId ?? '-'}`;
        const now = Date.now();
        const recent = (((await ctx.kv.get(key)) as number[] | undefined) ?? []).filter((at) => now - at < settings.floodWindowSeconds * 1000);
        recent.push(now);
        await ctx.kv.set(key, recent.slice(-settings.floodLimit - 1), { ttlSeconds: settings.floodWindowSeconds });
        reason = judge('', recent.length, settings);
      }
      if (!reason) return { action: 'continue' };
      if (settings.mode === 'drop') return { action: 'drop', reason };
      return { action: 'continue', annotations: { spam: reason } };
    },
  },
});
