import type { EntityManager } from '@mikro-orm/postgresql';
import { BotCommandSchema, type BotCommand } from '../../db/telegram.ts';
import type { Principal } from '../auth/principal.ts';
import { HttpError } from '../errors.ts';
import { idParamsSchema } from '../schemas/common.ts';
import { botCommandListSchema, botCommandParamsSchema, botCommandSchema, createBotCommandBodySchema, updateBotCommandBodySchema } from '../schemas/bots.ts';
import { announce, answeringChain, loadBot } from './bots.ts';
import { defineOperation, type Operation } from './define.ts';

const tags: [string] = ['bots'];

const view = (c: BotCommand) => ({
  botId: c.botId,
  command: c.command,
  chainId: c.chainId,
  description: c.description,
  descriptions: c.descriptions,
  createdAt: c.createdAt,
  updatedAt: c.updatedAt,
});

async function boundChain(em: EntityManager, principal: Principal, ref: string): Promise<string> {
  const id = await answeringChain(em, principal, ref);
  if (!id) throw new HttpError(400, 'validation_failed', 'body.chainId: name the chain the command starts (id or slug)', { field: 'body.chainId' });
  return id;
}

async function loadCommand(em: EntityManager, botId: string, command: string): Promise<BotCommand> {
  const row = await em.findOne(BotCommandSchema, { botId, command });
  if (!row) throw new HttpError(404, 'command_not_found', `The bot has no bound command "/${command}"; GET /api/v1/bots/${botId}/commands lists them.`);
  return row;
}

/**
 * `/bots/{id}/commands`: bot commands bound to another chain. `/{command}` in a chat of the
 * bot stops the chat's session (outcome `switched`) and starts the bound chain. The bot's
 * command menu (setMyCommands, per language) is its chain's command triggers merged with
 * these; a change reaches the gateway by NOTIFY, without a restart. Viewing needs the viewer
 * role on the bot; changes need editor, and the bound chain must be one you may open.
 */
export function botCommandOperations(): Operation[] {
  return [
    defineOperation({
      method: 'get',
      path: '/bots/:id/commands',
      operationId: 'listBotCommands',
      summary: "A bot's commands bound to other chains, by command",
      tags,
      auth: 'bearer',
      params: idParamsSchema,
      errors: [404],
      responses: { 200: { description: 'The bound commands', schema: botCommandListSchema } },
      handler: async ({ res, em, params, principal }) => {
        const bot = await loadBot(em, principal, params.id, 'bot:view');
        const rows = await em.find(BotCommandSchema, { botId: bot.id }, { orderBy: { command: 'asc' } });
        res.json({ items: rows.map(view) });
      },
    }),
    defineOperation({
      method: 'post',
      path: '/bots/:id/commands',
      operationId: 'createBotCommand',
      summary: 'Bind a bot command to a chain',
      description: "A command the bot's own chain also has as a trigger is taken by the bound chain. 409 when the command is bound already (PATCH it).",
      tags,
      auth: 'bearer',
      params: idParamsSchema,
      body: createBotCommandBodySchema,
      errors: [404, 409],
      responses: { 201: { description: 'The bound command', schema: botCommandSchema } },
      handler: async ({ res, em, params, body, principal, audit }) => {
        const bot = await loadBot(em, principal, params.id, 'bot:edit');
        if (bot.kind !== 'telegram_bot') throw new HttpError(400, 'validation_failed', 'body.command: only a telegram_bot has bot commands', { field: 'body.command' });
        const chainId = await boundChain(em, principal, body.chainId);
        if (await em.findOne(BotCommandSchema, { botId: bot.id, command: body.command })) {
          throw new HttpError(409, 'command_exists', `body.command: "/${body.command}" is bound already; PATCH /api/v1/bots/${bot.id}/commands/${body.command} to change it.`, { field: 'body.command' });
        }
        const row = em.create(BotCommandSchema, { botId: bot.id, command: body.command, chainId, description: body.description, descriptions: body.descriptions });
        audit({ action: 'bot.command.create', targetType: 'bot', targetId: bot.id, summary: { after: { command: row.command, chainId } } });
        await em.flush();
        await announce(em, bot.id);
        res.status(201).json(view(row));
      },
    }),
    defineOperation({
      method: 'get',
      path: '/bots/:id/commands/:command',
      operationId: 'getBotCommand',
      summary: 'One bound command',
      tags,
      auth: 'bearer',
      params: botCommandParamsSchema,
      errors: [404],
      responses: { 200: { description: 'The bound command', schema: botCommandSchema } },
      handler: async ({ res, em, params, principal }) => {
        const bot = await loadBot(em, principal, params.id, 'bot:view');
        res.json(view(await loadCommand(em, bot.id, params.command)));
      },
    }),
    defineOperation({
      method: 'patch',
      path: '/bots/:id/commands/:command',
      operationId: 'updateBotCommand',
      summary: "Change a bound command's chain or menu texts",
      description: '`descriptions` replaces all translations.',
      tags,
      auth: 'bearer',
      params: botCommandParamsSchema,
      body: updateBotCommandBodySchema,
      errors: [404],
      responses: { 200: { description: 'The bound command', schema: botCommandSchema } },
      handler: async ({ res, em, params, body, principal, audit }) => {
        const bot = await loadBot(em, principal, params.id, 'bot:edit');
        const row = await loadCommand(em, bot.id, params.command);
        const before = { chainId: row.chainId, description: row.description };
        if (body.chainId !== undefined) row.chainId = await boundChain(em, principal, body.chainId);
        if (body.description !== undefined) row.description = body.description;
        if (body.descriptions !== undefined) row.descriptions = body.descriptions;
        audit({ action: 'bot.command.update', targetType: 'bot', targetId: bot.id, summary: { command: row.command, before, after: { chainId: row.chainId, description: row.description } } });
        await em.flush();
        await announce(em, bot.id);
        res.json(view(row));
      },
    }),
    defineOperation({
      method: 'delete',
      path: '/bots/:id/commands/:command',
      operationId: 'deleteBotCommand',
      summary: 'Unbind a bot command (running sessions of its chain go on)',
      tags,
      auth: 'bearer',
      params: botCommandParamsSchema,
      errors: [404],
      responses: { 204: { description: 'Unbound' } },
      handler: async ({ res, em, params, principal, audit }) => {
        const bot = await loadBot(em, principal, params.id, 'bot:edit');
        const row = await loadCommand(em, bot.id, params.command);
        audit({ action: 'bot.command.delete', targetType: 'bot', targetId: bot.id, summary: { before: { command: row.command, chainId: row.chainId } } });
        em.remove(row);
        await em.flush();
        await announce(em, bot.id);
        res.status(204).end();
      },
    }),
  ];
}
