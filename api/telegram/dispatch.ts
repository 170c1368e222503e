import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { parseCommand, telegramEventKey } from '../../chain/index.ts';
import { ChainSchema } from '../../db/entities.ts';
import { telegramOwners, telegramWorkflowId } from '../../db/telegram.ts';
import type { Logger } from '../../lib/logger.ts';
import { BotIdKey, ChainIdKey, ChannelKey, messageSignal, stopSignal, type dialogue, type DialogueInput } from '../../temporal/contracts.ts';
import { closeRow } from '../services/runs.ts';
import type { RoutedUpdate } from './updates.ts';
import type { PluginRegistry } from '../../lib/plugins/host.ts';
import type { SecretBox } from '../../lib/secret-box.ts';
import { gateMessage } from './plugins.ts';

export interface DispatchDeps {
  /** For the poller; the webhook route passes its request's entity manager instead. */
  orm?: MikroORM | undefined;
  temporal: Client;
  taskQueue: string;
  logger: Logger;
  /** How long a switch waits for the chat's session to end after the stop signal before terminating it; default 10 s. */
  switchTimeoutMs?: number;
  /** Plugins whose hooks and commands run here; the process's registry when absent. */
  plugins?: PluginRegistry | undefined;
  /** To send plugin replies (the bot token); without it they are logged, not sent. */
  secretBox?: SecretBox | undefined;
}

/** The bot facts an update needs: which bot, which chain answers. */
export interface DispatchBot {
  id: string;
  chainId: string;
}

/**
 * Hands one routed update to its chat's session: `signalWithStart` of `dialogue` on
 * `chat:{botId}:{chatId}` with the `message` signal (a new session on the chain's active
 * version when none runs). The user writing again lifts a block recorded by delivery.
 * A group event goes only to a chain whose active version has a `telegram_event` start
 * for it (else it is `ignored`: no session starts, a running one is not disturbed).
 * `unpublished` when the chain has no published version (the update is dropped).
 * Plugins come first (api/telegram/plugins.ts): a before-message hook may drop the
 * message (`dropped`: the session never sees it) and a plugin command the chain does not
 * take itself is answered by its plugin (`plugin_command`).
 */
export async function dispatchUpdate(
  deps: DispatchDeps,
  em: EntityManager,
  bot: DispatchBot,
  original: Extract<RoutedUpdate, { kind: 'message' }>,
): Promise<'dispatched' | 'ignored' | 'unpublished' | 'dropped' | 'plugin_command'> {
  let answering: { id: string; activeVersionId?: string | null | undefined } | null | undefined;
  const answeringChain = async () => (answering ??= await em.findOne(ChainSchema, { id: bot.chainId }, { fields: ['id', 'activeVersionId'] }));
  const gate = await gateMessage(deps, bot.id, original, async (command) => {
    // The chain's own command (a command start of its active version) or a bound one wins.
    const [row] = await em.getConnection().execute<{ taken: boolean }[]>(
      `select exists (select 1 from bot_command where bot_id = ? and command = ?)
           or exists (select 1 from chain_version where id = ? and (ir->'entries'->>?) is not null) as taken`,
      [bot.id, command, (await answeringChain())?.activeVersionId ?? null, `command:${command}`],
    );
    return Boolean(row?.taken);
  });
  if (gate.action === 'dropped') return 'dropped';
  if (gate.action === 'command') return 'plugin_command';
  const routed = gate.routed;
  const bound = await boundCommand(em, bot.id, routed.message);
  const chain = bound ?? (await answeringChain());
  if (bound && !bound.activeVersionId) {
    deps.logger.warn({ botId: bot.id, chainId: bound.id }, 'telegram: the chain bound to this command has no published version; the update is dropped (publish the chain)');
    return 'unpublished';
  }
  if (!chain?.activeVersionId) {
    deps.logger.warn({ botId: bot.id, chainId: bot.chainId }, 'telegram: the answering chain has no published version; the update is dropped (publish the chain)');
    return 'unpublished';
  }
  const event = routed.message.event;
  if (event !== undefined) {
    const [row] = await em.getConnection().execute<{ starts: boolean }[]>(
      "select (ir->'entries'->>?) is not null as starts from chain_version where id = ?",
      [telegramEventKey(event), chain.activeVersionId],
    );
    if (!row?.starts) {
      deps.logger.debug({ botId: bot.id, chainId: bot.chainId, event }, 'telegram: group event without a telegram_event start in the chain; ignored');
      return 'ignored';
    }
  }
  await em.getConnection().execute(
    'update telegram_chat set blocked_at = null, updated_at = now() where bot_id = ? and chat_id = ? and blocked_at is not null',
    [bot.id, routed.chatId],
  );
  if (bound) await switchSession(deps, em, telegramWorkflowId(bot.id, routed.chatId), bound.id);
  const input: DialogueInput = {
    chainId: chain.id,
    versionId: chain.activeVersionId,
    channel: 'telegram_bot',
    botId: bot.id,
    owners: telegramOwners(bot.id, routed.chatId, routed.userId),
  };
  await deps.temporal.workflow.signalWithStart<typeof dialogue, [typeof routed.message]>('dialogue', {
    workflowId: telegramWorkflowId(bot.id, routed.chatId),
    taskQueue: deps.taskQueue,
    args: [input],
    signal: messageSignal,
    signalArgs: [routed.message],
    typedSearchAttributes: [
      { key: ChainIdKey, value: chain.id },
      { key: ChannelKey, value: 'telegram_bot' },
      { key: BotIdKey, value: bot.id },
    ],
  });
  return 'dispatched';
}

/** The chain bound to the message's command (`bot_command`), when it is one; else undefined. */
async function boundCommand(em: EntityManager, botId: string, message: Extract<RoutedUpdate, { kind: 'message' }>['message']): Promise<{ id: string; activeVersionId: string | null } | undefined> {
  if (message.text === undefined || (message.kind !== undefined && message.kind !== 'command')) return undefined;
  const command = parseCommand(message.text);
  if (!command) return undefined;
  const [row] = await em.getConnection().execute<{ id: string; active_version_id: string | null }[]>(
    'select c.id, c.active_version_id from bot_command bc join chain c on c.id = bc.chain_id where bc.bot_id = ? and bc.command = ?',
    [botId, command.command],
  );
  return row ? { id: row.id, activeVersionId: row.active_version_id } : undefined;
}

/**
 * Ends the chat's running session for a bound command: the `stop` signal with reason
 * `switched` (the session ends at its next wait with that outcome), then waits for it to
 * close so the command starts a new session of the bound chain under the same id. A
 * session already on the bound chain is left running (the command reaches it as a
 * message). One that does not end within `switchTimeoutMs` (a long step) is terminated.
 */
async function switchSession(deps: DispatchDeps, em: EntityManager, workflowId: string, chainId: string): Promise<void> {
  const handle = deps.temporal.workflow.getHandle(workflowId);
  let description;
  try {
    description = await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return;
    throw err;
  }
  if (description.status.name !== 'RUNNING') return;
  if (description.typedSearchAttributes.get(ChainIdKey) === chainId) return;
  await handle.signal(stopSignal, 'switched');
  const timeoutMs = deps.switchTimeoutMs ?? 10_000;
  let timer: NodeJS.Timeout | undefined;
  const ended = await Promise.race([
    handle.result().then(
      () => true,
      () => true,
    ),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
  if (ended) return;
  deps.logger.warn({ workflowId, timeoutMs }, 'telegram: the chat session did not end after the switch stop; terminating it');
  try {
    await handle.terminate('switched: a bot command bound to another chain');
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
  await closeRow(em, workflowId, 'terminated');
}
