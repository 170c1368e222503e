// reply_markup validation with Telegram's limits and error texts.
import { badRequest } from './request.ts';
import type { InlineKeyboardButton, KeyboardButton, ReplyMarkup } from './types.ts';

const PARSE = "can't parse reply keyboard markup JSON object";
const INLINE_ACTIONS = ['url', 'callback_data', 'web_app', 'login_url', 'switch_inline_query', 'switch_inline_query_current_chat', 'switch_inline_query_chosen_chat', 'copy_text', 'callback_game', 'pay'];

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function rows<T>(value: unknown, field: string, kind: string, button: (b: unknown) => T): T[][] {
  if (!Array.isArray(value)) throw badRequest(`field "${field}" of the ${kind} must be an Array`);
  return value.map((row) => {
    if (!Array.isArray(row)) throw badRequest(`field "${field}" of the ${kind} must be an Array of Arrays`);
    return row.map(button);
  });
}

function inlineButton(b: unknown): InlineKeyboardButton {
  if (!isObject(b) || typeof b.text !== 'string') throw badRequest(PARSE);
  if (b.text === '') throw badRequest('inline keyboard button text must be non-empty');
  const actions = INLINE_ACTIONS.filter((k) => b[k] !== undefined);
  if (actions.length === 0) throw badRequest('text buttons are unallowed in the inline keyboard');
  if (b.callback_data !== undefined) {
    const data = b.callback_data;
    const bytes = typeof data === 'string' ? Buffer.byteLength(data, 'utf8') : 0;
    if (bytes < 1 || bytes > 64) throw badRequest('BUTTON_DATA_INVALID');
  }
  if (b.url !== undefined) {
    if (typeof b.url !== 'string' || !URL.canParse(b.url) || !['http:', 'https:', 'tg:'].includes(new URL(b.url).protocol)) throw badRequest('BUTTON_URL_INVALID');
  }
  return { ...b, text: b.text };
}

function keyboardButton(b: unknown): KeyboardButton {
  if (typeof b === 'string') return { text: b };
  if (!isObject(b) || typeof b.text !== 'string') throw badRequest(PARSE);
  if (b.text === '') throw badRequest('keyboard button text must be non-empty');
  return { ...b, text: b.text };
}

/** Validates a reply_markup value (already JSON-decoded) and returns it normalised. */
export function validateReplyMarkup(value: unknown): ReplyMarkup | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value)) throw badRequest(PARSE);
  if ('inline_keyboard' in value) {
    const keyboard = rows(value.inline_keyboard, 'inline_keyboard', 'InlineKeyboardMarkup', inlineButton);
    if (keyboard.flat().length > 100) throw badRequest('reply markup is too long');
    return { inline_keyboard: keyboard };
  }
  if ('keyboard' in value) {
    const keyboard = rows(value.keyboard, 'keyboard', 'ReplyKeyboardMarkup', keyboardButton);
    if (keyboard.flat().length > 300) throw badRequest('reply markup is too long');
    const { keyboard: _k, ...options } = value;
    return { ...options, keyboard };
  }
  if ('remove_keyboard' in value) {
    if (value.remove_keyboard !== true) throw badRequest(PARSE);
    return { remove_keyboard: true, ...(value.selective === true ? { selective: true } : {}) };
  }
  if ('force_reply' in value) {
    if (value.force_reply !== true) throw badRequest(PARSE);
    return { ...value, force_reply: true };
  }
  throw badRequest(PARSE);
}
