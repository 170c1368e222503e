import type { Api } from 'grammy';
import type { ChainIR } from '../../chain/index.ts';
import type { Logger } from '../../lib/logger.ts';
import { describeTelegramFailure, telegramFailure } from '../../lib/telegram-api.ts';

/** The bot commands of a chain version: its command start triggers, by command name. */
export function chainCommands(ir: ChainIR): Array<{ command: string; description: string }> {
  const commands: Array<{ command: string; description: string }> = [];
  for (const [key, nodeId] of Object.entries(ir.entries).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!key.startsWith('command:')) continue;
    const node = ir.nodes[nodeId];
    if (node?.type !== 'start' || node.config.trigger.kind !== 'command') continue;
    const command = key.slice('command:'.length);
    const description = node.config.trigger.description?.trim() || `/${command}`;
    commands.push({ command, description: description.slice(0, 256) });
  }
  return commands.slice(0, 100);
}

/**
 * Makes the bot's command menu the chain's command triggers (`setMyCommands`, default
 * scope). A server without the method, or any failure, is a logged warning only.
 */
export async function syncCommands(api: Api, ir: ChainIR | null, log: Logger, botId: string, token: string): Promise<void> {
  const commands = ir ? chainCommands(ir) : [];
  try {
    if (commands.length) await api.setMyCommands(commands);
    else await api.deleteMyCommands();
  } catch (err) {
    log.warn({ botId, message: describeTelegramFailure(telegramFailure(err, token)) }, 'telegram: the command menu could not be set (setMyCommands); the bot works without it');
  }
}
