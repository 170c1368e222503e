// Streaming an agent's answer to the channels that can show it while the model writes
// (docs/ai.md › Streaming). The agentModel activity feeds the text so far to a
// {@link ReplyStream}; the workflow still gets the whole answer as the activity's result,
// and its history has the same commands as without streaming.
// - web (web chat, simulator): the text so far goes to `reply_partial` (at most every
//   WEB_PARTIAL_INTERVAL_MS), and a NOTIFY with ids only tells the API's events hub,
//   which pushes `reply.partial` to the run's /api/v1/ws subscribers. The row is deleted
//   when the call ends; the reply itself arrives as usual (`message.out`).
// - telegram_bot: the first text is sent as a message (the *draft*), recorded in
//   `telegram_send` under `draft:{replyId}` before any edit, then edited with the text so
//   far, never faster than Telegram's pace for the chat (TELEGRAM_PACE, shared with
//   deliverMessage) and never with an unchanged text. The session's next reply replaces
//   the draft (`OutboundMessage.replaces`): a final edit with its formatting and buttons,
//   no second message. A retried call finds the record and edits the same draft.
// Streaming is best effort: a failure to show a partial is logged and the call goes on.

import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Api } from 'grammy';
import { BotSchema, botSecret } from '../db/bots.ts';
import { REPLY_PARTIALS_CHANNEL } from '../db/notify.ts';
import { parseChatOwner } from '../db/telegram.ts';
import type { Logger } from '../lib/logger.ts';
import type { SecretBox } from '../lib/secret-box.ts';
import { describeTelegramFailure, telegramApi, telegramFailure } from '../lib/telegram-api.ts';
import { activityContext } from './activity-context.ts';
import { takeTelegramSend } from './telegram.ts';
import { TELEGRAM_TEXT_LIMIT } from './telegram-text.ts';

/** Where the workflow wants an answer streamed (set only for channels that show it). */
export interface StreamTarget {
  /** Stable for one model call across retries: `s{seq}i{iteration}`. */
  replyId: string;
  channel: 'web' | 'telegram_bot';
  /** telegram_bot: the session's chat owner key `telegram-chat:{botId}:{chatId}`. */
  chatKey?: string;
  botId?: string;
}

/** The least time between two partial writes of one web reply. */
export const WEB_PARTIAL_INTERVAL_MS = 300;
/** The least time between two edits of a Telegram draft (Telegram's pace for a chat is about one message a second). */
export const TELEGRAM_EDIT_INTERVAL_MS = 1000;
/** Partials longer than this are clipped (the final reply is whole). */
const WEB_PARTIAL_LIMIT = 32 * 1024;
/** The longest the final edit of a draft that no reply replaces waits for the chat's pace. */
const FINAL_EDIT_WAIT_MS = 1500;

export interface ReplyStream {
  /** The answer so far (the whole text, not a delta). Returns at once; writes happen behind. */
  update(text: string): void;
  /**
   * The call ended: stops writing. `answer` is the final text when the call succeeded and
   * `final` says the answer has no tool calls (the workflow shows it as a reply). Returns the
   * draft's record id when a Telegram draft holds the answer (the workflow's next reply replaces it).
   */
  finish(outcome?: { text: string; final: boolean }): Promise<{ draft?: string }>;
}

export interface ReplyStreamDeps {
  orm: MikroORM;
  logger: Logger;
  secretBox: SecretBox | undefined;
  webIntervalMs?: number;
  telegramIntervalMs?: number;
}

/**
 * Writes the latest text at most every `intervalMs`, the last one always (a trailing
 * write when the window ends). `write` may answer how long to wait before the next try
 * (a pace refused it), or 'stop' to end the stream; a throw ends it too.
 */
function throttle(intervalMs: number, write: (text: string) => Promise<number | 'stop' | void>, onError: (err: unknown) => void) {
  let latest: string | undefined;
  let written: string | undefined;
  let notBefore = 0;
  let timer: NodeJS.Timeout | undefined;
  let inflight: Promise<void> | undefined;
  let stopped = false;
  const kick = (): void => {
    if (stopped || timer || inflight || latest === undefined || latest === written) return;
    const wait = notBefore - Date.now();
    if (wait > 0) {
      timer = setTimeout(() => {
        timer = undefined;
        kick();
      }, wait);
      return;
    }
    const text = latest;
    inflight = write(text)
      .then((retryAfterMs) => {
        if (retryAfterMs === 'stop') stopped = true;
        else if (typeof retryAfterMs === 'number') notBefore = Date.now() + retryAfterMs;
        else {
          written = text;
          notBefore = Date.now() + intervalMs;
        }
      })
      .catch((err: unknown) => {
        stopped = true;
        onError(err);
      })
      .finally(() => {
        inflight = undefined;
        kick();
      });
  };
  return {
    update(text: string): void {
      latest = text;
      kick();
    },
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      timer = undefined;
      while (inflight) await inflight;
    },
    get stopped() {
      return stopped;
    },
  };
}

const quiet: ReplyStream = { update: () => {}, finish: async () => ({}) };

/** Opens reply streams for agentModel calls. */
export function createReplyStreams(deps: ReplyStreamDeps) {
  const webIntervalMs = deps.webIntervalMs ?? WEB_PARTIAL_INTERVAL_MS;
  const telegramIntervalMs = deps.telegramIntervalMs ?? TELEGRAM_EDIT_INTERVAL_MS;

  function web(call: { runId: string; chainId: string; nodeId: string; target: StreamTarget; redact: (text: string) => string }): ReplyStream {
    const conn = deps.orm.em.getConnection();
    const { runId, chainId, nodeId } = call;
    const replyId = call.target.replyId;
    const note = JSON.stringify({ runId, chainId, replyId });
    const t = throttle(
      webIntervalMs,
      async (text) => {
        await conn.execute(
          `with up as (
             insert into reply_partial (run_id, reply_id, chain_id, node_id, text, seq, updated_at) values (?, ?, ?, ?, ?, 1, now())
             on conflict (run_id, reply_id) do update set text = excluded.text, seq = reply_partial.seq + 1, updated_at = now()
             returning 1)
           select pg_notify(?, ?) from up`,
          [runId, replyId, chainId, nodeId, call.redact(text).slice(0, WEB_PARTIAL_LIMIT), REPLY_PARTIALS_CHANNEL, note],
        );
      },
      (err) => deps.logger.warn({ err, runId, nodeId }, 'agent stream: writing a partial reply failed; streaming stops for this call'),
    );
    return {
      update: (text) => {
        if (text.trim() !== '') t.update(text);
      },
      async finish() {
        await t.stop();
        // The reply itself arrives as `message.out`; rows left by crashed calls go after an hour.
        await conn
          .execute(`delete from reply_partial where (run_id = ? and reply_id = ?) or updated_at < now() - interval '1 hour'`, [runId, replyId])
          .catch((err: unknown) => deps.logger.warn({ err, runId }, 'agent stream: removing the partial reply failed'));
        return {};
      },
    };
  }

  async function telegram(call: { runId: string; nodeId: string; target: StreamTarget; redact: (text: string) => string }): Promise<ReplyStream> {
    const chat = parseChatOwner(call.target.chatKey ?? '');
    const botId = call.target.botId ?? chat?.botId;
    if (!chat || !botId || !deps.secretBox) return quiet;
    const em: EntityManager = deps.orm.em.fork();
    const conn = em.getConnection();
    const bot = await em.findOne(BotSchema, { id: botId });
    if (!bot) return quiet;
    const token = botSecret(deps.secretBox, bot);
    const api: Api = telegramApi(token, bot.apiRoot, 15);
    const chatId = chat.chatId;
    const [state] = await conn.execute<{ blocked_at: Date | null }[]>('select blocked_at from telegram_chat where bot_id = ? and chat_id = ?', [bot.id, chatId]);
    if (state?.blocked_at) return quiet;
    // Keyed like deliverMessage's records: the workflow execution, then the draft's id.
    const execution = activityContext()?.info.workflowExecution;
    const sendRun = execution ? `${execution.workflowId}/${execution.runId}` : `direct:${call.target.chatKey}`;
    const recordId = `draft:${call.target.replyId}`;
    const [record] = await conn.execute<{ telegram_message_ids: number[] }[]>('select telegram_message_ids from telegram_send where run_id = ? and message_id = ?', [sendRun, recordId]);
    let messageId: number | undefined = record?.telegram_message_ids.at(-1);
    let shown: string | undefined;
    const log = deps.logger.child({ runId: call.runId, nodeId: call.nodeId, botId: bot.id, activity: 'agentModel' });
    const clipText = (text: string): string => {
      const clean = call.redact(text);
      return clean.length <= TELEGRAM_TEXT_LIMIT ? clean : `${clean.slice(0, TELEGRAM_TEXT_LIMIT - 1)}…`;
    };

    /** Sends or edits the draft; a number is how long to wait (pace, 429); 'stop' when Telegram refused it. */
    async function show(raw: string): Promise<number | 'stop' | void> {
      const text = clipText(raw);
      if (text === shown) return;
      const refused = await takeTelegramSend(em, bot!.id, chatId);
      if (refused) return refused.retryAfterMs;
      try {
        if (messageId === undefined) {
          const sent = await api.sendMessage(chatId, text);
          messageId = sent.message_id;
          // Recorded before any edit: a retried call edits this draft instead of sending another.
          await conn.execute(
            `insert into telegram_send (run_id, message_id, bot_id, telegram_message_ids, sent_at) values (?, ?, ?, ?::jsonb, now())
             on conflict (run_id, message_id) do update set telegram_message_ids = excluded.telegram_message_ids`,
            [sendRun, recordId, bot!.id, JSON.stringify([messageId])],
          );
        } else {
          await api.editMessageText(chatId, messageId, text);
        }
      } catch (err) {
        const failure = telegramFailure(err, token);
        if (failure.kind === 'telegram' && failure.code === 400 && /message is not modified/i.test(failure.description)) {
          shown = text;
          return;
        }
        if (failure.kind === 'telegram' && failure.code === 429) return Math.max(1, failure.retryAfter ?? 1) * 1000;
        log.warn({ failure: describeTelegramFailure(failure) }, 'agent stream: the Telegram draft could not be updated; streaming stops for this call');
        return 'stop';
      }
      shown = text;
    }

    const t = throttle(telegramIntervalMs, show, (err) => log.warn({ err: err instanceof Error ? err.message : String(err) }, 'agent stream: updating the Telegram draft failed; streaming stops for this call'));
    return {
      update: (text) => {
        if (text.trim() !== '') t.update(text);
      },
      async finish(outcome) {
        const broken = t.stopped;
        await t.stop();
        if (messageId === undefined || !outcome) return {};
        const draft = outcome.final && outcome.text.trim() !== '' ? { draft: recordId } : {};
        if (broken || clipText(outcome.text) === shown) return draft;
        // The draft shows less than the answer. A reply that replaces it edits it anyway;
        // otherwise (text before tool calls) it gets the whole text now.
        if (draft.draft) return draft;
        try {
          const wait = await show(outcome.text);
          if (typeof wait === 'number' && wait <= FINAL_EDIT_WAIT_MS) {
            await new Promise((resolve) => setTimeout(resolve, wait as number));
            await show(outcome.text);
          }
        } catch (err) {
          log.warn({ err: err instanceof Error ? err.message : String(err) }, 'agent stream: the final edit of the Telegram draft failed');
        }
        return draft;
      },
    };
  }

  return {
    /** A stream for one model call; a no-op one when there is nothing to show the answer to. */
    async open(call: { runId: string; chainId: string; nodeId: string; target: StreamTarget | undefined; redact: (text: string) => string }): Promise<ReplyStream> {
      const target = call.target;
      if (!target) return quiet;
      let stream: ReplyStream;
      try {
        stream = target.channel === 'web' ? web({ ...call, target }) : await telegram({ ...call, target });
      } catch (err) {
        deps.logger.warn({ err, runId: call.runId }, 'agent stream: opening the stream failed; the answer comes whole');
        return quiet;
      }
      // finish() once: the activity calls it on success and again (a no-op then) on the way out.
      let finished: Promise<{ draft?: string }> | undefined;
      return { update: (text) => (finished ? undefined : stream.update(text)), finish: (outcome) => (finished ??= stream.finish(outcome)) };
    },
  };
}

export type ReplyStreams = ReturnType<typeof createReplyStreams>;
