import { HttpError } from '../errors.ts';
import { describeTelegramFailure, telegramApi, telegramFailure } from '../../lib/telegram-api.ts';

/**
 * Checks a bot token with `getMe` on the bot's Bot API server before it is stored.
 * Telegram's 401 is the caller's mistake (400 naming `body.token`); a server that cannot
 * be reached or does not speak the Bot API is too when the caller chose it
 * (`body.apiRoot`), otherwise it is Telegram's trouble (502). Never quotes the token.
 */
export async function verifyBotToken(token: string, apiRoot: string, apiRootGiven: boolean): Promise<{ id: number; username: string | undefined }> {
  try {
    const me = await telegramApi(token, apiRoot, 15).getMe();
    return { id: me.id, username: me.username };
  } catch (err) {
    const failure = telegramFailure(err, token);
    if (failure.kind === 'telegram' && failure.code === 401) {
      throw new HttpError(400, 'invalid_token', `body.token: ${apiRoot} does not know this token (getMe answered 401 Unauthorized); copy the current token from @BotFather (/token) and send it again.`, { field: 'body.token' });
    }
    const what = describeTelegramFailure(failure);
    if (apiRootGiven || failure.kind === 'telegram') {
      throw new HttpError(400, 'bot_api_unreachable', `body.apiRoot: getMe on ${apiRoot} failed (${what}); check the Bot API server's URL (like https://api.telegram.org, without /bot<token>).`, { field: 'body.apiRoot' });
    }
    throw new HttpError(502, 'bot_api_unreachable', `The Bot API server ${apiRoot} could not be reached to check the token (${what}); try again, or set apiRoot (or TELEGRAM_API_ROOT) to a server that is reachable.`, { field: 'body.apiRoot' });
  }
}
