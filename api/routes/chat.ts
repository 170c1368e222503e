import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import type { EntityManager } from '@mikro-orm/postgresql';
import { WithStartWorkflowOperation, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { ChainIdKey, ChannelKey, sendUpdate, type dialogue, type DialogueInput, type InboundMessage, type SendResult } from '../../temporal/contracts.ts';
import { RunSchema, type Chain } from '../../db/entities.ts';
import { HttpError } from '../errors.ts';
import type { Principal } from '../auth/principal.ts';
import { can } from '../policy.ts';
import { findChain } from '../services/chain-service.ts';
import { releaseVisitorToken, setVisitorCookie, visitorForRequest } from '../services/visitors.ts';
import { visitorOwnerKey } from '../../db/visitors.ts';
import { chatEventsQuerySchema, chatMessageSchema, chatParamsSchema, chatReplySchema, transcriptSchema } from '../schemas/chat.ts';
import { defineOperation, type Operation } from './define.ts';

export { chatEventsQuerySchema, chatMessageSchema, chatParamsSchema };

export interface ChatDeps {
  temporal: Client;
  taskQueue: string;
}

/** The web-chat workflow id: always the chain's id, never its slug. */
export const webWorkflowId = (chainId: string, visitorId: string) => `web:${chainId}:${visitorId}`;

/** The simulator's workflow id: a web session whose visitor id starts with `sim-` (public web chat refuses those ids). */
export const simulatorWorkflowId = (chainId: string, visitorId: string) => webWorkflowId(chainId, `sim-${visitorId}`);

export interface WebSession {
  chain: Chain;
  versionId: string;
  workflowId: string;
  visitorId: string;
  /** Keys of the persisted scopes the session reads and writes. */
  owners: DialogueInput['owners'];
}

/**
 * Sends one message to a web session with Update-with-start (the session starts on the
 * first message) and returns the bot's replies until its next wait.
 */
export async function sendWebMessage(deps: ChatDeps, session: WebSession, m: z.output<typeof chatMessageSchema>): Promise<SendResult> {
  const message: InboundMessage = {
    id: m.id ?? randomUUID(),
    ...(m.text !== undefined ? { text: m.text } : {}),
    ...(m.buttonId !== undefined ? { buttonId: m.buttonId, kind: 'button' as const } : {}),
    ...(m.value !== undefined ? { value: m.value } : {}),
    date: Math.floor(Date.now() / 1000),
    from: { id: session.visitorId, ...(m.language ? { language_code: m.language } : {}), ...(m.firstName ? { first_name: m.firstName } : {}) },
    chat: { id: session.visitorId, type: 'private' },
  };
  const input: DialogueInput = { chainId: session.chain.id, versionId: session.versionId, channel: 'web', owners: session.owners };
  const start = new WithStartWorkflowOperation<typeof dialogue>('dialogue', {
    workflowId: session.workflowId,
    taskQueue: deps.taskQueue,
    args: [input],
    workflowIdConflictPolicy: 'USE_EXISTING',
    typedSearchAttributes: [
      { key: ChainIdKey, value: session.chain.id },
      { key: ChannelKey, value: 'web' },
    ],
  });
  return deps.temporal.workflow.executeUpdateWithStart(sendUpdate, { args: [message], startWorkflowOperation: start });
}

/** Messages in and out of a web session, oldest first. */
export async function webTranscript(em: EntityManager, workflowId: string, after: number, limit: number) {
  const rows = await em.getConnection().execute<{ id: string; type: string; payload: Record<string, unknown>; at: Date | string }[]>(
    `select id, type, payload, at from run_event
      where run_id = ? and type in ('message.in', 'message.out') and id > ?
      order by id limit ?`,
    [workflowId, after, limit],
  );
  return {
    items: rows.map((r) => ({ id: Number(r.id), direction: r.type === 'message.in' ? ('in' as const) : ('out' as const), message: r.payload, at: new Date(r.at) })),
    total: rows.length,
  };
}

/**
 * Terminates a session if it runs (simulator reset, chain deletion) and marks its `run`
 * row stopped; false when none was running.
 */
export async function terminateSession(temporal: Client, em: EntityManager, workflowId: string, reason: string): Promise<boolean> {
  let terminated = true;
  try {
    await temporal.workflow.getHandle(workflowId).terminate(reason);
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
    terminated = false;
  }
  await em.nativeUpdate(RunSchema, { id: workflowId, status: { $in: ['running', 'waiting'] } }, { status: 'terminated', closedAt: new Date(), updatedAt: new Date() });
  return terminated;
}

const tags: [string] = ['web chat'];

/**
 * Web chat: `POST /chat/{chain}/{visitor}/messages` sends a message on
 * `web:{chainId}:{visitorId}` and answers with the bot's replies; `GET` the same path
 * reads the transcript (replies sent later, e.g. after a delay, arrive there). Public for
 * chains with web chat enabled; otherwise a bearer token of a user who may edit the
 * chain is needed (the editor trying the published version). Visitors hold a
 * server-issued token (api/services/visitors.ts).
 */
export function chatOperations(deps: ChatDeps): Operation[] {
  const isEditor = (principal: Principal | null, chain: Chain): boolean => Boolean(principal && can(principal, 'chain:edit', { type: 'chain', id: chain.id, ownerId: chain.ownerId ?? null }));
  const openChat = async (em: EntityManager, ref: string, principal: Principal | null): Promise<Chain> => {
    const chain = await findChain(em, ref);
    if (chain.webChatEnabled) return chain;
    if (isEditor(principal, chain)) return chain;
    throw new HttpError(403, 'web_chat_disabled', `Web chat is not enabled for chain "${chain.slug}". Enable it in the chain settings, or sign in as one of its editors.`);
  };
  return [
    defineOperation({
      method: 'post',
      path: '/chat/:chainIdOrSlug/:visitorId/messages',
      operationId: 'sendChatMessage',
      summary: 'Send a web-chat message and get the bot’s replies',
      description:
        'Public for chains with web chat enabled. For other chains, send the bearer token of a user who may edit the chain. The first message to a visitor id that has no visitor yet creates the visitor and answers with its visitorToken (once; also set as an HttpOnly cookie for the widget). Every later request for that visitor id must present it as the X-Visitor-Token header (or the cookie), else 401; a bearer token of one of the chain’s editors works instead. The session runs the active published version; the simulator (POST /chains/{id}/simulate/{visitorId}/messages) runs the draft.',
      tags,
      auth: 'optional',
      rateLimited: 'chat',
      params: chatParamsSchema,
      body: chatMessageSchema,
      errors: [401, 403, 404, 409],
      responses: { 200: { description: 'The bot’s replies', schema: chatReplySchema } },
      handler: async ({ req, res, em, params, body, principal }) => {
        const chain = await openChat(em, params.chainIdOrSlug, principal);
        if (!chain.activeVersionId) throw new HttpError(409, 'not_published', `Chain "${chain.slug}" has no published version yet. Publish it first, or use the simulator.`);
        const access = await visitorForRequest(em, req, chain.id, params.visitorId, { create: true, trusted: isEditor(principal, chain) });
        if (!access.visitor) throw new Error('visitorForRequest did not create the visitor');
        const visitor = access.visitor;
        const workflowId = webWorkflowId(chain.id, params.visitorId);
        // Persisted user.* / chat.* belong to the visitor (its server id), not to a guessable string.
        const owner = visitorOwnerKey(visitor);
        let result: SendResult;
        try {
          result = await sendWebMessage(deps, {
            chain,
            versionId: chain.activeVersionId,
            workflowId,
            visitorId: params.visitorId,
            owners: { user: owner, chat: owner, bot: `chain:${chain.id}` },
          }, body);
        } catch (err) {
          // The token never reached the client: free the visitor id again.
          if (access.issuedToken) await releaseVisitorToken(em, visitor);
          throw err;
        }
        if (access.issuedToken) setVisitorCookie(req, res, chain.id, params.visitorId, access.issuedToken);
        res.json({ runId: workflowId, chainId: chain.id, versionId: chain.activeVersionId, ...result, ...(access.issuedToken ? { visitorToken: access.issuedToken } : {}) });
      },
    }),
    defineOperation({
      method: 'get',
      path: '/chat/:chainIdOrSlug/:visitorId/messages',
      operationId: 'readChatTranscript',
      summary: 'Read a web-chat transcript',
      description: 'Needs the visitor’s token (X-Visitor-Token header or the widget’s cookie), else 401; a bearer token of one of the chain’s editors works instead. A visitor id that has no visitor yet has an empty transcript.',
      tags,
      auth: 'optional',
      rateLimited: 'chat',
      params: chatParamsSchema,
      query: chatEventsQuerySchema,
      errors: [401, 403, 404],
      responses: { 200: { description: 'Messages in and out, oldest first', schema: transcriptSchema } },
      handler: async ({ req, res, em, params, query, principal }) => {
        const chain = await openChat(em, params.chainIdOrSlug, principal);
        const trusted = isEditor(principal, chain);
        const access = await visitorForRequest(em, req, chain.id, params.visitorId, { create: false, trusted });
        if (!access.visitor && !trusted) {
          res.json({ items: [], total: 0 });
          return;
        }
        res.json(await webTranscript(em, webWorkflowId(chain.id, params.visitorId), query.after, query.limit));
      },
    }),
  ];
}
