import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import { telegramEventKey } from '../../chain/index.ts';
import { ChainSchema } from '../../db/entities.ts';
import { telegramOwners, telegramWorkflowId } from '../../db/telegram.ts';
import type { Logger } from '../../lib/logger.ts';
import { BotIdKey, ChainIdKey, ChannelKey, messageSignal, type dialogue, type DialogueInput } from '../../temporal/contracts.ts';
import type { RoutedUpdate } from './updates.ts';

export interface DispatchDeps {
  /** For the poller; the webhook route passes its request's entity manager instead. */
  orm?: MikroORM | undefined;
  temporal: Client;
  taskQueue: string;
  logger: Logger;
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
 */
export async function dispatchUpdate(
  deps: DispatchDeps,
  em: EntityManager,
  bot: DispatchBot,
  routed: Extract<RoutedUpdate, { kind: 'message' }>,
): Promise<'dispatched' | 'ignored' | 'unpublished'> {
  const chain = await em.findOne(ChainSchema, { id: bot.chainId }, { fields: ['id', 'activeVersionId'] });
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
