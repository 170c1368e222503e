// The Bot API as Chainflow calls it (grammY's `Api`), shared by the API's gateways and
// the worker's delivery: one way to build a client for a bot's server, and one way to
// read what went wrong without ever showing the token (grammY's network errors wrap the
// fetch error, whose message holds the request URL and with it the token).

import { Api, GrammyError, HttpError } from 'grammy';

/** A grammY client for one bot on its Bot API server (`apiRoot` without a trailing '/'). */
export function telegramApi(token: string, apiRoot: string, timeoutSeconds = 60): Api {
  return new Api(token, { apiRoot: apiRoot.replace(/\/+$/, ''), timeoutSeconds });
}

/** What a failed Bot API call means to us. */
export type TelegramFailure =
  /** Telegram answered `{ok:false, error_code, description, parameters?}`. */
  | { kind: 'telegram'; code: number; description: string; retryAfter: number | undefined; migrateToChatId: number | undefined }
  /** No Telegram-shaped answer: network error, timeout, a body that is not the Bot API's. */
  | { kind: 'network'; description: string };

/** Classifies an error thrown by a grammY call; messages never contain the token. */
export function telegramFailure(err: unknown, token?: string): TelegramFailure {
  if (err instanceof GrammyError && typeof err.error_code === 'number') {
    return {
      kind: 'telegram',
      code: err.error_code,
      description: scrub(String(err.description ?? 'no description'), token),
      retryAfter: typeof err.parameters.retry_after === 'number' ? err.parameters.retry_after : undefined,
      migrateToChatId: typeof err.parameters.migrate_to_chat_id === 'number' ? err.parameters.migrate_to_chat_id : undefined,
    };
  }
  if (err instanceof GrammyError) return { kind: 'network', description: `${err.method}: the server answered without a Bot API error code` };
  if (err instanceof HttpError) {
    // `err.error` is the fetch error: its message names the URL (with the token). Only its kind is kept.
    const inner = err.error;
    const reason = inner instanceof SyntaxError ? 'the answer is not Bot API JSON' : inner instanceof Error ? inner.name : 'request failed';
    return { kind: 'network', description: scrub(`${err.message} (${reason})`, token) };
  }
  return { kind: 'network', description: scrub(err instanceof Error ? err.message : String(err), token) };
}

/** One line for logs and run events: never the token. */
export function describeTelegramFailure(failure: TelegramFailure): string {
  return failure.kind === 'telegram' ? `Telegram answered ${failure.code}: ${failure.description}` : failure.description;
}

/** Removes a token (and any `/bot<token>` path) from a text. */
export function scrub(text: string, token?: string): string {
  let out = text.replace(/\/bot\d+:[A-Za-z0-9_-]+/g, '/bot<token>');
  if (token) out = out.split(token).join('<token>');
  return out;
}

/** True for a host that is this machine (a loopback Bot API server needs no HTTPS for webhooks). */
export function isLoopbackUrl(url: string): boolean {
  try {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    return host === 'localhost' || host === '::1' || /^127\./.test(host);
  } catch {
    return false;
  }
}
