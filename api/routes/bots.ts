import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import { GrantSchema } from '../../db/accounts.ts';
import { BotSchema, botSecret, botSecretContext, DEFAULT_TELEGRAM_API_ROOT, type Bot, type BotMode } from '../../db/bots.ts';
import { BOTS_CHANNEL } from '../../db/notify.ts';
import { isLoopbackUrl } from '../../lib/telegram-api.ts';
import { outboundUrlProblem } from '../../activities/ssrf.ts';
import { verifyBotToken } from '../telegram/verify.ts';
import type { AccountClientFactory } from '../../lib/telegram-account.ts';
import { accountOperations } from './bot-accounts.ts';
import { ChainSchema, RunSchema } from '../../db/entities.ts';
import type { SecretBox } from '../../lib/secret-box.ts';
import type { Principal } from '../auth/principal.ts';
import { HttpError } from '../errors.ts';
import { authorize, roleOn, visibleBots, type Action, type Resource } from '../policy.ts';
import { shareBodySchema } from '../schemas/chains.ts';
import { escapeLike, idParamsSchema } from '../schemas/common.ts';
import {
  BOT_TOKEN,
  botDeleteQuerySchema,
  botGrantListSchema,
  botGrantParamsSchema,
  botGrantViewSchema,
  botListQuerySchema,
  botListSchema,
  botSchema,
  createBotBodySchema,
  updateBotBodySchema,
} from '../schemas/bots.ts';
import { recordAudit } from '../services/audit.ts';
import { listAccess, shareResource, unshareResource, type SharedResource } from '../services/grants.ts';
import { closeRow } from '../services/runs.ts';
import { loadChain } from './chain-views.ts';
import { defineOperation, type Operation } from './define.ts';

const tags: [string] = ['bots'];

export interface BotDeps {
  temporal: Client;
  /** Encrypts tokens and session strings; without it, storing one answers 503. */
  secretBox?: SecretBox | undefined;
  /**
   * Telegram settings of this installation. With them, a token is checked with `getMe`
   * on the bot's Bot API server before it is stored; apps built without them (tests of
   * other areas, which have no Bot API server) store tokens unchecked.
   */
  telegram?: BotTelegramOptions | undefined;
  /** HTTP_ALLOW_PRIVATE: private or loopback Bot API servers a user may name as `apiRoot`. */
  httpAllowPrivate?: readonly string[] | undefined;
  /** MTProto clients of user accounts (login operations); GramJS unless a test passes its own. */
  accounts?: AccountClientFactory | undefined;
}

export interface BotTelegramOptions {
  /** TELEGRAM_API_ROOT: the Bot API server of bots added without `apiRoot`. */
  apiRoot: string;
  /** PUBLIC_URL: webhooks need it to be https (unless the Bot API server is on loopback). */
  publicUrl: string;
}

/** Webhook mode needs Telegram to reach this API: an https PUBLIC_URL, or a Bot API server on this machine. */
function checkMode(options: BotTelegramOptions | undefined, mode: BotMode, apiRoot: string): void {
  if (mode !== 'webhook' || !options) return;
  if (options.publicUrl.startsWith('https://') || isLoopbackUrl(apiRoot)) return;
  throw new HttpError(400, 'webhook_needs_https', `body.mode: webhook mode needs PUBLIC_URL to be https (it is ${options.publicUrl}), because Telegram delivers webhooks over HTTPS only; set PUBLIC_URL to this API's https address, or use mode polling.`, { field: 'body.mode' });
}

/**
 * A Bot API server a user names (`body.apiRoot`) passes the outbound SSRF rules
 * (activities/ssrf.ts): no loopback, private or link-local host unless HTTP_ALLOW_PRIVATE
 * lists it. The operator's TELEGRAM_API_ROOT is exempt: the operator chose it.
 */
async function checkApiRoot(deps: BotDeps, apiRoot: string | undefined): Promise<void> {
  if (apiRoot === undefined || apiRoot === (deps.telegram?.apiRoot ?? DEFAULT_TELEGRAM_API_ROOT).replace(/\/+$/, '')) return;
  const problem = await outboundUrlProblem(apiRoot, { allow: deps.httpAllowPrivate ?? [] });
  if (problem) throw new HttpError(400, 'invalid_api_root', `body.apiRoot: ${problem}`, { field: 'body.apiRoot' });
}

/** Tells every API process's gateways that a bot changed (delivered on commit). */
export async function announce(em: EntityManager, botId: string): Promise<void> {
  await em.getConnection().execute('select pg_notify(?, ?)', [BOTS_CHANNEL, botId], 'run', em.getTransactionContext());
}

const botResource = (bot: Bot, ref?: string): Resource => ({ type: 'bot', id: bot.id, ownerId: bot.ownerId ?? null, ...(ref ? { ref } : {}) });

/** The bot with this id if the principal may do `action` on it; 404 (not shared) or 403 otherwise. */
export async function loadBot(em: EntityManager, principal: Principal | null, id: string, action: Action): Promise<Bot> {
  const bot = await em.findOne(BotSchema, { id });
  if (!bot) throw new HttpError(404, 'bot_not_found', `No bot with id "${id}".`);
  authorize(principal, action, botResource(bot, id));
  return bot;
}

export function requireBox(deps: BotDeps): SecretBox {
  if (!deps.secretBox) {
    throw new HttpError(503, 'secret_key_missing', 'Bot tokens and session strings are stored encrypted, and this API has no key: set CHAINFLOW_SECRET_KEY and restart it.');
  }
  return deps.secretBox;
}

/** The answering chain named in a body: it must exist and the caller must be allowed to open it (404 otherwise). */
export async function answeringChain(em: EntityManager, principal: Principal, ref: string | null | undefined): Promise<string | null | undefined> {
  if (ref === undefined || ref === null) return ref;
  try {
    return (await loadChain(em, principal, ref, 'chain:view')).id;
  } catch (err) {
    if (err instanceof HttpError && err.status === 404) throw new HttpError(404, 'chain_not_found', `body.chainId: no chain "${ref}" that you may open; pick one from GET /api/v1/chains.`, { field: 'body.chainId' });
    throw err;
  }
}

/** Bots as the API shows them: never the secret; a chain that was deleted shows as none. */
/** Whether a secret is stored: a bot always has its token; a user account has a session only once signed in (or imported), and not after logout. */
function hasSecret(box: SecretBox | undefined, bot: Bot): boolean {
  if (bot.kind === 'telegram_bot') return true;
  if (!box) return false;
  try {
    return botSecret(box, bot) !== '';
  } catch {
    return false;
  }
}

async function botViews(em: EntityManager, principal: Principal, bots: Bot[], box: SecretBox | undefined) {
  const chainIds = [...new Set(bots.map((b) => b.chainId).filter((id): id is string => Boolean(id)))];
  const existing = new Set(chainIds.length ? (await em.find(ChainSchema, { id: { $in: chainIds } }, { fields: ['id'] })).map((c) => c.id) : []);
  return bots.map((bot) => ({
    id: bot.id,
    name: bot.name,
    kind: bot.kind,
    telegramId: bot.telegramId ?? null,
    hasSecret: hasSecret(box, bot),
    chainId: bot.chainId && existing.has(bot.chainId) ? bot.chainId : null,
    groups: bot.accountGroups ?? [],
    enabled: bot.enabled,
    mode: bot.mode,
    apiRoot: bot.apiRoot,
    status: bot.status,
    lastError: bot.lastError ?? null,
    ownerId: bot.ownerId ?? null,
    role: roleOn(principal, botResource(bot)) ?? 'viewer',
    createdAt: bot.createdAt,
    updatedAt: bot.updatedAt,
  }));
}

async function botView(em: EntityManager, principal: Principal, bot: Bot, box: SecretBox | undefined) {
  const [view] = await botViews(em, principal, [bot], box);
  return view;
}

/** The public bot id of a token (the part before ':'). */
const telegramIdOf = (token: string) => BOT_TOKEN.exec(token)?.[1] ?? null;

function taken(telegramId: string, other: Bot | null): HttpError {
  return new HttpError(409, 'bot_exists', `Telegram bot ${telegramId} is registered already${other ? ` as "${other.name}" (${other.id})` : ''}; one bot cannot be registered twice.`, {
    field: 'body.token',
    botId: other?.id ?? null,
  });
}


/**
 * `/bots`: Telegram bots and user accounts (channel accounts) with their answering
 * chain. Tokens and session strings are write-only: stored encrypted, never returned,
 * never logged or audited. Per-bot roles through grants, like chains.
 */
const sharedBot = (bot: { id: string; name: string; ownerId?: string | null }): SharedResource => ({
  type: 'bot',
  id: bot.id,
  ownerId: bot.ownerId ?? null,
  label: `bot "${bot.name}"`,
  ownerRemovalHint: "The owner's access cannot be removed; share the bot with someone else instead.",
});

export function botOperations(deps: BotDeps): Operation[] {
  return [
    defineOperation({
      method: 'get',
      path: '/bots',
      operationId: 'listBots',
      summary: 'List the bots you may open',
      tags,
      auth: 'bearer',
      query: botListQuerySchema,
      responses: { 200: { description: 'A page of bots, by name', schema: botListSchema } },
      handler: async ({ res, em, query, principal }) => {
        authorize(principal, 'bot:list');
        const visible = visibleBots(principal);
        const and: Record<string, unknown>[] = [];
        if (!visible.all) and.push({ $or: [{ ownerId: visible.ownerId }, ...(visible.ids.length ? [{ id: { $in: visible.ids } }] : [])] });
        if (query.q) and.push({ name: { $ilike: `%${escapeLike(query.q)}%` } });
        if (query.kind) and.push({ kind: query.kind });
        if (query.chainId) and.push({ chainId: query.chainId });
        if (query.enabled) and.push({ enabled: query.enabled === 'true' });
        const [bots, total] = await em.findAndCount(BotSchema, and.length ? { $and: and } : {}, { orderBy: { name: 'asc', id: 'asc' }, offset: query.offset, limit: query.limit });
        res.json({ items: await botViews(em, principal, bots, deps.secretBox), total });
      },
    }),
    defineOperation({
      method: 'post',
      path: '/bots',
      operationId: 'createBot',
      summary: 'Register a Telegram bot (token) or user account (session string)',
      description:
        'The token or session string is stored encrypted (CHAINFLOW_SECRET_KEY; 503 without it) and never returned: answers show `hasSecret` and, for bots, `telegramId` (the public part of the token). The answering chain must be one you may open. Editors and admins create bots and own what they create.',
      tags,
      auth: 'bearer',
      body: createBotBodySchema,
      errors: [404, 409, 503],
      responses: { 201: { description: 'The bot', schema: botSchema } },
      handler: async ({ res, em, body, principal, audit }) => {
        authorize(principal, 'bot:create');
        const chainId = await answeringChain(em, principal, body.chainId);
        const box = requireBox(deps);
        // A user account may start without a session: the login operations (/bots/{id}/account/…) make one.
        const secret = body.kind === 'telegram_bot' ? body.token : (body.sessionString ?? '');
        if (secret === undefined) throw new HttpError(400, 'validation_failed', 'body: send the token or the session string');
        const telegramId = body.kind === 'telegram_bot' ? telegramIdOf(secret) : null;
        if (telegramId) {
          const other = await em.findOne(BotSchema, { telegramId });
          if (other) throw taken(telegramId, other);
        }
        await checkApiRoot(deps, body.apiRoot);
        const apiRoot = body.apiRoot ?? deps.telegram?.apiRoot ?? DEFAULT_TELEGRAM_API_ROOT;
        checkMode(deps.telegram, body.mode, apiRoot);
        if (body.kind === 'telegram_bot' && deps.telegram) await verifyBotToken(secret, apiRoot, body.apiRoot !== undefined);
        const id = randomUUID();
        const bot = em.create(BotSchema, {
          id,
          name: body.name,
          kind: body.kind,
          encryptedSecret: box.encrypt(secret, botSecretContext(id)),
          telegramId,
          chainId: chainId ?? null,
          enabled: body.enabled,
          mode: body.mode,
          apiRoot,
          encryptedWebhookSecret: null,
          encryptedApp: null,
          encryptedLogin: null,
          accountGroups: body.groups ?? [],
          status: 'stopped',
          lastError: null,
          ownerId: principal.user.id,
        });
        audit({ action: 'bot.create', targetType: 'bot', targetId: id, summary: { after: { name: bot.name, kind: bot.kind, telegramId, chainId: bot.chainId, enabled: bot.enabled, mode: bot.mode, apiRoot } } });
        try {
          await em.flush();
        } catch (err) {
          if (err instanceof UniqueConstraintViolationException && telegramId) throw taken(telegramId, null);
          throw err;
        }
        await announce(em, id);
        res.status(201).json(await botView(em, principal, bot, deps.secretBox));
      },
    }),
    defineOperation({
      method: 'get',
      path: '/bots/:id',
      operationId: 'getBot',
      summary: 'One bot (never its token or session string)',
      tags,
      auth: 'bearer',
      params: idParamsSchema,
      errors: [404],
      responses: { 200: { description: 'The bot', schema: botSchema } },
      handler: async ({ res, em, params, principal }) => {
        const bot = await loadBot(em, principal, params.id, 'bot:view');
        res.json(await botView(em, principal, bot, deps.secretBox));
      },
    }),
    defineOperation({
      method: 'patch',
      path: '/bots/:id',
      operationId: 'updateBot',
      summary: 'Rename a bot, change its answering chain, enable or disable it, or replace its token or session string',
      description: 'A new token must belong to the same Telegram bot (the same id before the colon); register another bot as a new one.',
      tags,
      auth: 'bearer',
      params: idParamsSchema,
      body: updateBotBodySchema,
      errors: [404, 409, 503],
      responses: { 200: { description: 'The updated bot', schema: botSchema } },
      handler: async ({ res, em, params, body, principal, audit }) => {
        const bot = await loadBot(em, principal, params.id, 'bot:edit');
        if (body.token !== undefined && bot.kind !== 'telegram_bot') throw new HttpError(400, 'validation_failed', 'body.token: this bot is a telegram_user; send sessionString instead', [{ field: 'body.token', message: 'Not for telegram_user', code: 'custom' }]);
        if (body.sessionString !== undefined && bot.kind !== 'telegram_user') throw new HttpError(400, 'validation_failed', 'body.sessionString: this bot is a telegram_bot; send token instead', [{ field: 'body.sessionString', message: 'Not for telegram_bot', code: 'custom' }]);
        if (body.token !== undefined && telegramIdOf(body.token) !== bot.telegramId) {
          throw new HttpError(409, 'bot_mismatch', `body.token: the token belongs to another Telegram bot than ${bot.telegramId ?? 'this one'}; register that bot with POST /api/v1/bots instead.`, { field: 'body.token' });
        }
        if ((body.mode !== undefined || body.apiRoot !== undefined) && bot.kind !== 'telegram_bot') {
          throw new HttpError(400, 'validation_failed', `body.${body.mode !== undefined ? 'mode' : 'apiRoot'}: only a telegram_bot has a Bot API server and an update mode`, [{ field: body.mode !== undefined ? 'body.mode' : 'body.apiRoot', message: 'Not for telegram_user', code: 'custom' }]);
        }
        const chainId = await answeringChain(em, principal, body.chainId);
        const secret = body.token ?? body.sessionString;
        if (body.apiRoot !== bot.apiRoot) await checkApiRoot(deps, body.apiRoot);
        const apiRoot = body.apiRoot ?? bot.apiRoot;
        checkMode(deps.telegram, body.mode ?? bot.mode, apiRoot);
        if (bot.kind === 'telegram_bot' && deps.telegram && (body.token !== undefined || (body.apiRoot !== undefined && body.apiRoot !== bot.apiRoot))) {
          const token = body.token ?? botSecret(requireBox(deps), bot);
          await verifyBotToken(token, apiRoot, body.apiRoot !== undefined);
        }
        const before = { name: bot.name, chainId: bot.chainId ?? null, enabled: bot.enabled, mode: bot.mode, apiRoot: bot.apiRoot };
        if (secret !== undefined) bot.encryptedSecret = requireBox(deps).encrypt(secret, botSecretContext(bot.id));
        if (body.name !== undefined) bot.name = body.name;
        if (chainId !== undefined) bot.chainId = chainId;
        if (body.enabled !== undefined) bot.enabled = body.enabled;
        if (body.mode !== undefined) bot.mode = body.mode;
        if (body.groups !== undefined) {
          if (bot.kind !== 'telegram_user') throw new HttpError(400, 'validation_failed', 'body.groups: a telegram_bot gets the messages of the groups it is a member of; groups are for telegram_user accounts', [{ field: 'body.groups', message: 'Not for telegram_bot', code: 'custom' }]);
          bot.accountGroups = body.groups;
        }
        bot.apiRoot = apiRoot;
        audit({
          action: 'bot.update',
          targetType: 'bot',
          targetId: bot.id,
          summary: { before, after: { name: bot.name, chainId: bot.chainId ?? null, enabled: bot.enabled, mode: bot.mode, apiRoot: bot.apiRoot }, ...(secret !== undefined ? { rotated: true } : {}) },
        });
        await em.flush();
        await announce(em, bot.id);
        res.json(await botView(em, principal, bot, deps.secretBox));
      },
    }),
    defineOperation({
      method: 'delete',
      path: '/bots/:id',
      operationId: 'deleteBot',
      summary: 'Delete a bot with its shares (its sessions’ history stays)',
      description: "Refused (409 sessions_running) while sessions of the bot run or wait, unless force=true, which terminates them first. Needs the owner role on the bot.",
      tags,
      auth: 'bearer',
      params: idParamsSchema,
      query: botDeleteQuerySchema,
      errors: [404, 409],
      responses: { 204: { description: 'Deleted' } },
      handler: async ({ res, em, params, query, principal, actor }) => {
        const bot = await loadBot(em, principal, params.id, 'bot:delete');
        const running = await em.find(RunSchema, { botId: bot.id, status: { $in: ['running', 'waiting'] } }, { fields: ['id'], orderBy: { id: 'asc' } });
        if (running.length && query.force !== 'true') {
          throw new HttpError(409, 'sessions_running', `Bot "${bot.name}" has ${running.length} running session(s); wait for them to end, or delete with ?force=true to terminate them.`, {
            running: running.length,
            runIds: running.slice(0, 100).map((r) => r.id),
          });
        }
        for (const run of running) {
          try {
            await deps.temporal.workflow.getHandle(run.id).terminate(`bot ${bot.name} deleted`);
          } catch (err) {
            if (!(err instanceof WorkflowNotFoundError)) throw err;
          }
          await closeRow(em, run.id, 'terminated');
        }
        await em.transactional(async (tx) => {
          await tx.nativeDelete(GrantSchema, { resourceType: 'bot', resourceId: bot.id });
          await tx.nativeDelete(BotSchema, { id: bot.id });
          await announce(tx, bot.id);
          recordAudit(tx, actor, { action: 'bot.delete', targetType: 'bot', targetId: bot.id, summary: { before: { name: bot.name, kind: bot.kind, telegramId: bot.telegramId ?? null }, terminatedSessions: running.length } });
        });
        res.status(204).end();
      },
    }),
    defineOperation({
      method: 'get',
      path: '/bots/:id/grants',
      operationId: 'listBotGrants',
      summary: 'Who has access to a bot: its owner and the users it is shared with',
      tags: ['sharing'],
      auth: 'bearer',
      params: idParamsSchema,
      errors: [404],
      responses: { 200: { description: 'Owner first, then grants by e-mail', schema: botGrantListSchema } },
      handler: async ({ res, em, params, principal }) => {
        const bot = await loadBot(em, principal, params.id, 'bot:view');
        res.json(await listAccess(em, sharedBot(bot)));
      },
    }),
    defineOperation({
      method: 'post',
      path: '/bots/:id/grants',
      operationId: 'shareBot',
      summary: 'Share a bot with a user (viewer, editor or owner); changes the role of an existing share',
      tags: ['sharing'],
      auth: 'bearer',
      params: idParamsSchema,
      body: shareBodySchema,
      errors: [404, 409],
      responses: { 200: { description: 'The user’s access', schema: botGrantViewSchema } },
      handler: async ({ res, em, params, body, principal, audit }) => {
        const bot = await loadBot(em, principal, params.id, 'bot:share');
        res.json(await shareResource(em, principal, sharedBot(bot), body, audit));
      },
    }),
    defineOperation({
      method: 'delete',
      path: '/bots/:id/grants/:userId',
      operationId: 'unshareBot',
      summary: 'Stop sharing a bot with a user',
      tags: ['sharing'],
      auth: 'bearer',
      params: botGrantParamsSchema,
      errors: [404, 409],
      responses: { 204: { description: 'Removed' } },
      handler: async ({ res, em, params, principal, audit }) => {
        const bot = await loadBot(em, principal, params.id, 'bot:share');
        await unshareResource(em, sharedBot(bot), params.userId, audit);
        res.status(204).end();
      },
    }),
    ...accountOperations(deps),
  ];
}
