import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import { z } from 'zod';
import type { MikroORM } from '@mikro-orm/postgresql';
import { WithStartWorkflowOperation, type Client } from '@temporalio/client';
import { ChainIdKey, ChannelKey, sendUpdate, type dialogue, type DialogueInput, type InboundMessage } from '../../temporal/contracts.ts';
import { HttpError, validationError } from '../errors.ts';
import { findChain } from '../services/chain-service.ts';

export const chatParamsSchema = z.object({
  chainIdOrSlug: z.string().min(1).max(100),
  visitorId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "Use 1–64 of letters, digits, '_' and '-' (e.g. a random id kept in the browser)"),
});

export const chatMessageSchema = z
  .strictObject({
    id: z.string().min(1).max(200).optional().describe('Client message id; a repeated id is processed once'),
    text: z.string().max(4096).optional(),
    buttonId: z.string().min(1).max(64).optional(),
    value: z.string().max(200).optional(),
    language: z.string().regex(/^[a-z]{2,3}(-[A-Za-z]{2,4})?$/, "A language code like 'en' or 'ru'").optional(),
    firstName: z.string().max(100).optional(),
  })
  .refine((m) => m.text !== undefined || m.buttonId !== undefined, { message: 'Send text or a buttonId', path: ['text'] });

export const chatEventsQuerySchema = z.strictObject({
  after: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

export interface ChatDeps {
  orm: MikroORM;
  temporal: Client;
  taskQueue: string;
}

/** The web-chat workflow id: always the chain's id, never its slug. */
export const webWorkflowId = (chainId: string, visitorId: string) => `web:${chainId}:${visitorId}`;

/**
 * Web chat: `POST /chat/{chain}/{visitor}/messages` sends a message with Update-with-start
 * on `web:{chainId}:{visitorId}` and answers with the bot's replies; `GET` the same path
 * reads the transcript (replies sent later, e.g. after a delay, arrive there).
 */
export function chatRoutes(deps: ChatDeps): Router {
  const router = Router();

  router.post('/chat/:chainIdOrSlug/:visitorId/messages', async (req, res) => {
    const params = chatParamsSchema.safeParse(req.params);
    if (!params.success) throw validationError(params.error, 'params');
    const body = chatMessageSchema.safeParse(req.body ?? {});
    if (!body.success) throw validationError(body.error, 'body');

    const em = deps.orm.em.fork();
    const chain = await findChain(em, params.data.chainIdOrSlug);
    if (!chain.webChatEnabled) throw new HttpError(403, 'web_chat_disabled', `Web chat is not enabled for chain "${chain.slug}". Enable it in the chain settings.`);
    if (!chain.activeVersionId) throw new HttpError(409, 'not_published', `Chain "${chain.slug}" has no published version yet. Publish it first.`);

    const visitorId = params.data.visitorId;
    const workflowId = webWorkflowId(chain.id, visitorId);
    const m = body.data;
    const message: InboundMessage = {
      id: m.id ?? randomUUID(),
      ...(m.text !== undefined ? { text: m.text } : {}),
      ...(m.buttonId !== undefined ? { buttonId: m.buttonId, kind: 'button' as const } : {}),
      ...(m.value !== undefined ? { value: m.value } : {}),
      date: Math.floor(Date.now() / 1000),
      from: { id: visitorId, ...(m.language ? { language_code: m.language } : {}), ...(m.firstName ? { first_name: m.firstName } : {}) },
      chat: { id: visitorId, type: 'private' },
    };
    const input: DialogueInput = {
      chainId: chain.id,
      versionId: chain.activeVersionId,
      channel: 'web',
      owners: { user: `web:${visitorId}`, chat: `web:${visitorId}`, bot: `chain:${chain.id}` },
    };
    const start = new WithStartWorkflowOperation<typeof dialogue>('dialogue', {
      workflowId,
      taskQueue: deps.taskQueue,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      typedSearchAttributes: [
        { key: ChainIdKey, value: chain.id },
        { key: ChannelKey, value: 'web' },
      ],
    });
    const result = await deps.temporal.workflow.executeUpdateWithStart(sendUpdate, { args: [message], startWorkflowOperation: start });
    res.json({ runId: workflowId, chainId: chain.id, ...result });
  });

  router.get('/chat/:chainIdOrSlug/:visitorId/messages', async (req, res) => {
    const params = chatParamsSchema.safeParse(req.params);
    if (!params.success) throw validationError(params.error, 'params');
    const query = chatEventsQuerySchema.safeParse(req.query);
    if (!query.success) throw validationError(query.error, 'query');
    const em = deps.orm.em.fork();
    const chain = await findChain(em, params.data.chainIdOrSlug);
    if (!chain.webChatEnabled) throw new HttpError(403, 'web_chat_disabled', `Web chat is not enabled for chain "${chain.slug}".`);
    const rows = await em.getConnection().execute<{ id: string; type: string; payload: unknown; at: Date }[]>(
      `select id, type, payload, at from run_event
        where run_id = ? and type in ('message.in', 'message.out') and id > ?
        order by id limit ?`,
      [webWorkflowId(chain.id, params.data.visitorId), query.data.after, query.data.limit],
    );
    res.json({
      items: rows.map((r) => ({ id: Number(r.id), direction: r.type === 'message.in' ? 'in' : 'out', message: r.payload, at: r.at })),
      total: rows.length,
    });
  });

  return router;
}
