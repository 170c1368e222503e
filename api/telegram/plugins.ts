// Plugins in the Telegram gateway (docs/plugins.md): before-message hooks run here, before
// the update reaches its chat's session (signalWithStart), and may change, annotate or
// drop it; a plugin's Telegram command is answered here when the chain does not take the
// command itself; members joining a group (`new_chat_members`) go to the plugins'
// memberJoined hooks. What the plugins ask to send goes through the same delivery as a
// session's replies (activities/telegram.ts: pacing, blocked chats, idempotence per update).

import type { MikroORM } from '@mikro-orm/postgresql';
import type { Update } from 'grammy/types';
import { ApplicationFailure } from '@temporalio/common';
import { parseCommand } from '../../chain/index.ts';
import { telegramOwners } from '../../db/telegram.ts';
import type { Logger } from '../../lib/logger.ts';
import type { HookMember, HookMessage, MemberJoinedEvent } from '../../lib/plugin-sdk.ts';
import type { PluginRegistry } from '../../lib/plugins/host.ts';
import { pluginCommand, runBeforeHooks, runMemberJoined, runPluginCommand, type PluginReply } from '../../lib/plugins/hooks.ts';
import { processPlugins } from '../../lib/plugins/process.ts';
import type { SecretBox } from '../../lib/secret-box.ts';
import { createTelegramDelivery } from '../../activities/telegram.ts';
import type { JsonObject } from '../../workflows/types.ts';
import type { RoutedUpdate } from './updates.ts';

export interface GatewayPluginDeps {
  orm?: MikroORM | undefined;
  secretBox?: SecretBox | undefined;
  /** The plugins this gateway runs; the process's registry (lib/plugins/process.ts) when absent. */
  plugins?: PluginRegistry | undefined;
  logger: Logger;
}

type Routed = Extract<RoutedUpdate, { kind: 'message' }>;

export const gatewayPlugins = (deps: GatewayPluginDeps): PluginRegistry | undefined => deps.plugins ?? processPlugins();

const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** What hooks see of a routed update. */
export function hookMessageOf(botId: string, routed: Routed): HookMessage {
  const m = routed.message;
  const message: HookMessage = { botId, chatId: routed.chatId, userId: routed.userId };
  const chatType = str(m.chat?.type);
  if (chatType) message.chatType = chatType;
  if (m.text !== undefined) message.text = m.text;
  const language = str(m.from?.language_code);
  if (language) message.language = language;
  return message;
}

/** The result of the plugins for one message: it goes on (maybe changed), or it was taken by a plugin. */
export type PluginGate = { action: 'continue'; routed: Routed } | { action: 'dropped'; pluginId: string; reason: string } | { action: 'command'; pluginId: string; command: string };

/**
 * Runs the before-message hooks on a routed update and answers plugin commands. A
 * command is the plugin's only when the chain does not take it: `chainTakes(command)`
 * says whether the answering chain (a command start of its active version) or a bound
 * command (`bot_command`) has it — those win. Replies are sent in the background.
 */
export async function gateMessage(deps: GatewayPluginDeps, botId: string, routed: Routed, chainTakes: (command: string) => Promise<boolean>): Promise<PluginGate> {
  const registry = gatewayPlugins(deps);
  // Group events (a member joined or left, the bot added) are not messages: no hooks.
  if (!registry || routed.message.kind === 'event') return { action: 'continue', routed };
  const message = hookMessageOf(botId, routed);
  const outcome = await runBeforeHooks(registry, message, deps.logger);
  const updateId = routed.message.id;
  if (outcome.replies.length) void sendPluginReplies(deps, botId, routed.chatId, updateId, outcome.replies);
  if (outcome.action === 'drop') {
    // Never the text: the reason the plugin gave and where.
    deps.logger.info({ botId, chatId: routed.chatId, updateId, plugin: outcome.pluginId, reason: outcome.reason }, 'telegram: message dropped by a plugin before its session');
    return { action: 'dropped', pluginId: outcome.pluginId, reason: outcome.reason };
  }
  let next = routed;
  const changed = outcome.text !== routed.message.text;
  if (changed || Object.keys(outcome.meta).length) {
    const inbound = { ...routed.message, ...(changed && outcome.text !== undefined ? { text: outcome.text } : {}) };
    if (Object.keys(outcome.meta).length) inbound.meta = { ...(inbound.meta ?? {}), ...(outcome.meta as JsonObject) };
    next = { ...routed, message: inbound };
  }
  const isCommand = next.message.text !== undefined && (next.message.kind === undefined || next.message.kind === 'command');
  const parsed = isCommand ? parseCommand(next.message.text ?? '') : undefined;
  const owner = parsed ? pluginCommand(registry, parsed.command) : undefined;
  if (parsed && owner && !(await chainTakes(parsed.command))) {
    void (async () => {
      const result = await runPluginCommand(registry, owner, parsed.args, { ...message, ...(next.message.text !== undefined ? { text: next.message.text } : {}) });
      if (!result.ok) {
        deps.logger.warn({ botId, chatId: routed.chatId, plugin: owner.pluginId, command: owner.command, error: result.error.slice(0, 300) }, 'telegram: a plugin command failed');
        return;
      }
      if (result.reply.trim()) await sendPluginReplies(deps, botId, routed.chatId, updateId, [{ pluginId: owner.pluginId, text: result.reply }]);
    })();
    deps.logger.debug({ botId, chatId: routed.chatId, plugin: owner.pluginId, command: owner.command }, 'telegram: command answered by a plugin');
    return { action: 'command', pluginId: owner.pluginId, command: owner.command };
  }
  return { action: 'continue', routed: next };
}

function memberOf(user: { id: number; first_name?: string; last_name?: string; username?: string; language_code?: string; is_bot?: boolean }): HookMember {
  const member: HookMember = { id: String(user.id) };
  if (user.first_name) member.first_name = user.first_name.slice(0, 256);
  if (user.last_name) member.last_name = user.last_name.slice(0, 256);
  if (user.username) member.username = user.username.slice(0, 256);
  if (user.language_code) member.language_code = user.language_code.slice(0, 35);
  if (user.is_bot) member.is_bot = true;
  return member;
}

/**
 * A `new_chat_members` service message (sessions skip it) as the plugins' memberJoined
 * event; the greetings they answer go to the group. False when the update is not one.
 * (Only the service message: the `chat_member` update Telegram may send alongside it is a
 * chain's `telegram_event`, so one join greets once.)
 */
export async function membersJoined(deps: GatewayPluginDeps, botId: string, update: Update): Promise<boolean> {
  const m = update.message;
  if (!m?.new_chat_members?.length || (m.chat.type !== 'group' && m.chat.type !== 'supergroup')) return false;
  const registry = gatewayPlugins(deps);
  if (!registry || registry.withHook('memberJoined').length === 0) return true;
  const event: MemberJoinedEvent = { botId, chatId: String(m.chat.id), chatType: m.chat.type, members: m.new_chat_members.map(memberOf) };
  if ('title' in m.chat && m.chat.title) event.chatTitle = m.chat.title.slice(0, 256);
  if (m.from) event.by = memberOf(m.from);
  const replies = await runMemberJoined(registry, event, deps.logger);
  if (replies.length) void sendPluginReplies(deps, botId, event.chatId, String(update.update_id), replies);
  return true;
}

const deliveries = new WeakMap<MikroORM, ReturnType<typeof createTelegramDelivery>>();

/** How long a retryable delivery failure asks to wait (Temporal's nextRetryDelay), in ms. */
function retryDelayMs(error: unknown): number {
  const delay = error instanceof ApplicationFailure ? error.nextRetryDelay : undefined;
  if (typeof delay === 'number') return delay;
  const seconds = typeof delay === 'string' ? /^(\d+(?:\.\d+)?)\s*s$/.exec(delay)?.[1] : undefined;
  return seconds ? Number(seconds) * 1000 : 1000;
}

/**
 * Sends plugin replies to a chat through the session delivery (activities/telegram.ts),
 * keyed by the update and plugin (`telegram_send`), so an update delivered twice is
 * answered once. Pacing and Telegram's 429 are waited out (a few attempts); a lasting
 * failure is logged.
 */
export async function sendPluginReplies(deps: GatewayPluginDeps, botId: string, chatId: string, updateId: string, replies: PluginReply[]): Promise<void> {
  const orm = deps.orm;
  if (!orm || !deps.secretBox) {
    deps.logger.warn({ botId, chatId, plugins: replies.map((r) => r.pluginId) }, 'telegram: a plugin reply cannot be sent from here (no database or CHAINFLOW_SECRET_KEY)');
    return;
  }
  let deliver = deliveries.get(orm);
  if (!deliver) {
    deliver = createTelegramDelivery({ orm, logger: deps.logger, secretBox: deps.secretBox, afterHooks: false });
    deliveries.set(orm, deliver);
  }
  const messages = replies.map((reply, i) => ({ id: `plugin:${reply.pluginId}:${updateId}:${i}`.slice(0, 100), nodeId: `plugin:${reply.pluginId}`, text: reply.text, format: 'plain' as const }));
  const chatKey = telegramOwners(botId, chatId, '0').chat;
  for (let attempt = 1; ; attempt++) {
    try {
      await deliver({ botId, chatKey, messages });
      return;
    } catch (error) {
      const retryable = error instanceof ApplicationFailure ? !error.nonRetryable : true;
      if (!retryable || attempt >= 6) {
        deps.logger.warn({ botId, chatId, plugins: replies.map((r) => r.pluginId), attempt, error: (error instanceof Error ? error.message : String(error)).slice(0, 300) }, 'telegram: a plugin reply could not be sent');
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(30_000, Math.max(50, retryDelayMs(error)))));
    }
  }
}
