// Downloading a file a Telegram user sent (`message.media.file_id`, a voice, a document…)
// for activities: getFile on the bot's Bot API server, then the bytes from its file
// endpoint `{apiRoot}/file/bot{token}/{file_path}`, capped in size. The token is in that
// URL, so nothing here puts the URL in an error or a log line.

import type { MikroORM } from '@mikro-orm/postgresql';
import { BotSchema, botSecret } from '../db/bots.ts';
import type { SecretBox } from '../lib/secret-box.ts';
import { describeTelegramFailure, scrub, telegramApi, telegramFailure } from '../lib/telegram-api.ts';

/** Telegram's Bot API serves files of at most 20 MB through getFile; the default cap. */
export const TELEGRAM_DOWNLOAD_LIMIT = 20 * 1024 * 1024;

export interface TelegramFile {
  bytes: Buffer;
  /** The server's path of the file ('voice/file_3.oga'): its extension tells the kind. */
  filePath: string;
  fileUniqueId: string;
}

export class TelegramFileError extends Error {
  override name = 'TelegramFileError';
}

/**
 * The bytes of a file of a bot's chat, by its `file_id`. Fails (TelegramFileError, message
 * without the token) when the bot is gone, the server does not know the file, it is over
 * `maxBytes` (by getFile's file_size, and again while reading), or the download fails.
 *
 * @example const { bytes } = await downloadTelegramFile({ orm, secretBox }, botId, message.media.file_id, { maxBytes: 5_000_000 });
 */
export async function downloadTelegramFile(
  deps: { orm: MikroORM; secretBox: SecretBox },
  botId: string,
  fileId: string,
  opts: { maxBytes?: number; timeoutMs?: number } = {},
): Promise<TelegramFile> {
  const maxBytes = Math.min(opts.maxBytes ?? TELEGRAM_DOWNLOAD_LIMIT, TELEGRAM_DOWNLOAD_LIMIT);
  const bot = await deps.orm.em.fork().findOne(BotSchema, { id: botId });
  if (!bot || bot.kind !== 'telegram_bot') throw new TelegramFileError(`No Bot API bot ${botId}; its files cannot be downloaded.`);
  const token = botSecret(deps.secretBox, bot);
  let file;
  try {
    file = await telegramApi(token, bot.apiRoot, 30).getFile(fileId);
  } catch (err) {
    throw new TelegramFileError(`getFile failed: ${describeTelegramFailure(telegramFailure(err, token))}`);
  }
  if (!file.file_path) throw new TelegramFileError('getFile answered without a file_path (the file is not downloadable)');
  if (typeof file.file_size === 'number' && file.file_size > maxBytes) throw new TelegramFileError(`The file is ${file.file_size} bytes, over the ${maxBytes}-byte limit.`);
  const url = `${bot.apiRoot}/file/bot${token}/${file.file_path.split('/').map(encodeURIComponent).join('/')}`;
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(opts.timeoutMs ?? 60_000), redirect: 'error' });
  } catch (err) {
    throw new TelegramFileError(`Downloading the file failed: ${scrub(err instanceof Error ? err.message : String(err), token)}`);
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel();
    throw new TelegramFileError(`Downloading the file failed: the Bot API server answered ${res.status}.`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  const reader = res.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel();
        throw new TelegramFileError(`The file is over the ${maxBytes}-byte limit.`);
      }
      chunks.push(Buffer.from(value));
    }
  } catch (err) {
    if (err instanceof TelegramFileError) throw err;
    throw new TelegramFileError(`Downloading the file failed: ${scrub(err instanceof Error ? err.message : String(err), token)}`);
  }
  return { bytes: Buffer.concat(chunks), filePath: file.file_path, fileUniqueId: file.file_unique_id };
}
