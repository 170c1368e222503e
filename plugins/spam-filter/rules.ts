const LINK = /\b(?:https?:\/\/|www\.)\S+|\b[a-z0-9-]+\.(?:com|net|org|ru|io|me|xyz|top)\b|t\.me\/\S+/i;

/** Why a message is spam, or undefined. `recent` counts this user's messages in the flood window. */
export function judge(text: string, recent: number, settings: { blockLinks: boolean; stopWords: string[]; floodLimit: number }): string | undefined {
  if (recent > settings.floodLimit) return `flood: more than ${settings.floodLimit} messages in the window`;
  if (settings.blockLinks && LINK.test(text)) return 'link';
  const lower = text.toLowerCase();
  const word = settings.stopWords.find((stop) => stop && lower.includes(stop.toLowerCase()));
  return word ? `stop word "${word}"` : undefined;
}
