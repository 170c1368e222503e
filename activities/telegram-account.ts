// Delivery for Telegram user accounts (channel `telegram_user`). The workflow schedules
// `deliverMessage` on task queue `account:{botId}`, which only the process holding the
// account's MTProto connection serves (api/telegram/accounts.ts); this activity sends
// through that connection. Like Bot API delivery: each part is recorded in
// `telegram_send` (a retry sends only what is missing) and paced first (stricter for
// user accounts, see {@link ACCOUNT_PACE}); FLOOD_WAIT_X becomes a Temporal retry after X
// seconds — GramJS runs with floodSleepThreshold 0, so it never sleeps on one itself.

import { ApplicationFailure, ApplicationFailureCategory } from '@temporalio/common';
import type { MikroORM } from '@mikro-orm/postgresql';
import { hitRateLimit, refundRateLimit, type RateRule } from '../db/rate-limits.ts';
import { accountPeerHash, parseChatOwner } from '../db/telegram.ts';
import type { Logger } from '../lib/logger.ts';
import { classifyAccountError, type AccountClient, type AccountOutgoing, type AccountPeer } from '../lib/telegram-account.ts';
import type { OutboundMessage } from '../workflows/types.ts';
import { activityContext } from './activity-context.ts';
import { TELEGRAM_FAILURES } from './telegram.ts';
import { splitText, TELEGRAM_TEXT_LIMIT } from './telegram-text.ts';

/**
 * The send pace of a user account. Telegram publishes no numbers for user accounts and
 * bans accounts that look like spam, so this stays well under what bots may do: one
 * message per 3 s in a chat, 10 a minute in a group, and per account a burst of 3 then
 * one every 2 s (30 a minute). Telegram's FLOOD_WAIT still wins when it asks for more.
 */
export const ACCOUNT_PACE = {
  chat: { limit: 1, windowSeconds: 3 },
  group: { limit: 3, windowSeconds: 18 },
  account: { limit: 3, windowSeconds: 6 },
} as const satisfies Record<string, RateRule>;

const PARSE_MODE = { plain: undefined, html: 'html', markdown: 'markdown' } as const;

/**
 * Buttons as text: Telegram shows inline and reply keyboards from bots only (a user
 * account's reply_markup is ignored), so an account writes them under the text, one line
 * each, a link button with its URL. The person answers by typing (a reply button's text
 * matches as a text message does).
 */
export function buttonsAsText(message: OutboundMessage): string {
  const rows = message.buttons?.rows ?? [];
  const lines = rows.flat().map((b) => (b.url ? `• ${b.text}: ${b.url}` : `• ${b.text}`));
  if (!lines.length) return '';
  if (message.format === 'html') return lines.map((l) => l.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')).join('\n');
  return lines.join('\n');
}

/** The message id an inbound id names (`{peerId}:{id}` or an edit's `{peerId}:{id}:e{date}`). */
export function replyIdOf(inboundId: string | undefined): number | undefined {
  const m = inboundId ? /^-?\d+:(\d+)(?::e\d+)?$/.exec(inboundId) : null;
  return m ? Number(m[1]) : undefined;
}

/** The account calls of one reply: its text (with its buttons as text) split at 4096 characters, then each media file by URL; the first part answers `replyTo`. */
export function accountPartsOf(message: OutboundMessage): AccountOutgoing[] {
  const parseMode = PARSE_MODE[message.format];
  const parts: AccountOutgoing[] = [];
  const buttons = buttonsAsText(message);
  const text = [message.text, buttons].filter((t) => t.trim() !== '').join('\n\n');
  if (text.trim() !== '' || !message.media?.length) {
    for (const chunk of splitText(text || ' ', message.format, TELEGRAM_TEXT_LIMIT)) parts.push({ text: chunk, parseMode, disablePreview: message.disablePreview });
  }
  for (const m of message.media ?? []) parts.push({ text: '', parseMode, file: { url: m.url, caption: m.caption?.slice(0, 1024) } });
  const replyToId = replyIdOf(message.replyTo);
  if (replyToId !== undefined && parts[0]) parts[0].replyToId = replyToId;
  return parts;
}

/** A Telegram error of a send as a Temporal failure (a flood wait: retried after Telegram's seconds). */
export function accountFailure(err: unknown, accountName: string): ApplicationFailure {
  const e = classifyAccountError(err);
  switch (e.kind) {
    case 'flood_wait':
      return ApplicationFailure.create({
        message: `Telegram asks account "${accountName}" to wait ${e.seconds ?? 0} s (${e.telegram}); retried then.`,
        type: TELEGRAM_FAILURES.rateLimited,
        nonRetryable: false,
        nextRetryDelay: `${Math.max(1, e.seconds ?? 1)}s`,
      });
    case 'peer_invalid':
      return ApplicationFailure.nonRetryable(`Account "${accountName}" cannot write to this chat (${e.telegram}).`, TELEGRAM_FAILURES.blocked);
    case 'unauthorized':
      return ApplicationFailure.retryable(`The session of account "${accountName}" is no longer signed in (${e.telegram}); sign in again (POST /api/v1/bots/{id}/account/login).`, TELEGRAM_FAILURES.unauthorized);
    case 'network':
      return ApplicationFailure.retryable(`Account "${accountName}" lost its connection to Telegram; retried.`, TELEGRAM_FAILURES.unavailable);
    default:
      return ApplicationFailure.nonRetryable(`Telegram refused the message of account "${accountName}" (${e.telegram}).`, TELEGRAM_FAILURES.badRequest);
  }
}

export interface AccountDeliveryDeps {
  orm: MikroORM;
  logger: Logger;
  botId: string;
  accountName: string;
  /** The connection this process holds for the account. */
  client: AccountClient;
}

/** `deliverMessage` of the worker on `account:{botId}`. */
export function createAccountDelivery(deps: AccountDeliveryDeps) {
  const pace = async (chatId: string): Promise<void> => {
    const em = deps.orm.em.fork();
    const scopes: [string, RateRule, string][] = [
      [`tga:chat:${deps.botId}:${chatId}`, ACCOUNT_PACE.chat, 'this chat'],
      ...(chatId.startsWith('-') ? [[`tga:group:${deps.botId}:${chatId}`, ACCOUNT_PACE.group, 'this group'] as [string, RateRule, string]] : []),
      [`tga:account:${deps.botId}`, ACCOUNT_PACE.account, 'this account'],
    ];
    for (const [index, [key, rule, what]] of scopes.entries()) {
      const decision = await hitRateLimit(em, key, rule);
      if (decision.allowed) continue;
      for (const [earlier, earlierRule] of scopes.slice(0, index)) await refundRateLimit(em, earlier, earlierRule);
      throw ApplicationFailure.create({
        message: `Pacing the sends of a user account to ${what}; the next one goes in ${decision.retryAfterMs} ms.`,
        type: TELEGRAM_FAILURES.paced,
        nonRetryable: false,
        nextRetryDelay: decision.retryAfterMs,
        category: ApplicationFailureCategory.BENIGN,
      });
    }
  };
  return async function deliverMessage(input: { channel: string; botId?: string; chatKey: string; messages: OutboundMessage[] }): Promise<{ delivered: string[] }> {
    const target = parseChatOwner(input.chatKey);
    if (!target || target.botId !== deps.botId) throw ApplicationFailure.nonRetryable(`The session's chat key "${input.chatKey}" is not a chat of account ${deps.botId}; nothing was sent.`, TELEGRAM_FAILURES.botMissing);
    const conn = deps.orm.em.fork().getConnection();
    // The peer's access hash from its last message (telegram_account_peer): the client may have been made after it.
    const peer: AccountPeer = { id: target.chatId, accessHash: await accountPeerHash(conn, deps.botId, target.chatId) };
    const execution = activityContext()?.info.workflowExecution;
    const runId = execution ? `${execution.workflowId}/${execution.runId}` : `direct:${input.chatKey}`;
    const delivered: string[] = [];
    for (const message of input.messages) {
      const [record] = await conn.execute<{ telegram_message_ids: number[] }[]>('select telegram_message_ids from telegram_send where run_id = ? and message_id = ?', [runId, message.id]);
      const parts = accountPartsOf(message);
      // An edit of the session's last message: only a reply of one text part can be one.
      let editId: number | undefined;
      if (message.edit && !record && parts.length === 1 && !parts[0]?.file) {
        const [previous] = await conn.execute<{ telegram_message_ids: number[] }[]>(
          'select telegram_message_ids from telegram_send where run_id = ? and message_id <> ? order by sent_at desc, message_id desc limit 1',
          [runId, message.id],
        );
        editId = previous?.telegram_message_ids.at(-1);
      }
      const sentIds = [...(record?.telegram_message_ids ?? [])];
      for (let i = sentIds.length; i < parts.length; i++) {
        const part = parts[i];
        if (!part) break;
        await pace(target.chatId);
        let id: number;
        try {
          if (editId !== undefined) {
            try {
              await deps.client.editMessage(peer, editId, part);
            } catch (err) {
              // The same text again: Telegram refuses the edit, the chat already shows it.
              if (classifyAccountError(err).telegram !== 'MESSAGE_NOT_MODIFIED') throw err;
            }
            id = editId;
          } else {
            // "… is typing" first, as a person writes: best effort, a refused action sends anyway.
            if (i === 0) await deps.client.setTyping(peer).catch(() => undefined);
            id = await deps.client.sendMessage(peer, part);
          }
        } catch (err) {
          throw accountFailure(err, deps.accountName);
        }
        sentIds.push(id);
        await conn.execute(
          `insert into telegram_send (run_id, message_id, bot_id, telegram_message_ids, sent_at) values (?, ?, ?, ?::jsonb, now())
           on conflict (run_id, message_id) do update set telegram_message_ids = excluded.telegram_message_ids`,
          [runId, message.id, deps.botId, JSON.stringify(sentIds)],
        );
      }
      delivered.push(message.id);
    }
    return { delivered };
  };
}
