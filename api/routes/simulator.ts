import type { Client } from '@temporalio/client';
import { RunSchema } from '../../db/entities.ts';
import { draftVersion } from '../services/chain-service.ts';
import { chatEventsQuerySchema, chatMessageSchema, chatReplySchema, simulateParamsSchema, transcriptSchema } from '../schemas/chat.ts';
import { loadChain } from './chain-views.ts';
import { sendWebMessage, simulatorWorkflowId, terminateSession, webTranscript } from './chat.ts';
import { defineOperation, type Operation } from './define.ts';

export interface SimulatorDeps {
  temporal: Client;
  taskQueue: string;
}

/**
 * `/chains/{id}/simulate`: the editor's simulator, a web-chat session on the current
 * draft (compiled into a draft version) with its variables kept apart from real visitors'.
 */
export function simulatorOperations(deps: SimulatorDeps): Operation[] {
  return [
    defineOperation({
      method: 'post',
      path: '/chains/:id/simulate/:visitorId/messages',
      operationId: 'simulateMessage',
      summary: 'Simulator: send a message to a session running the current draft',
      description:
        'Compiles the draft into a draft version (422 with the errors when it does not compile) and talks to workflow `web:{chainId}:sim-{visitorId}`. When the draft changed since the session started, the session is restarted on the new draft (`restarted: true`). Simulated sessions keep their variables apart from real visitors’ (`sim:` owner keys). Works whether web chat is enabled or not.',
      tags: ['simulator'],
      auth: 'bearer',
      params: simulateParamsSchema,
      body: chatMessageSchema,
      errors: [404, 422],
      responses: { 200: { description: 'The bot’s replies', schema: chatReplySchema } },
      handler: async ({ res, em, params, body, principal }) => {
        const chain = await loadChain(em, principal, params.id, 'chain:edit');
        const version = await draftVersion(em, chain, principal);
        const workflowId = simulatorWorkflowId(chain.id, params.visitorId);
        const current = await em.findOne(RunSchema, { id: workflowId }, { fields: ['versionId', 'status'] });
        let restarted = false;
        if (current && current.versionId !== version.id && (current.status === 'running' || current.status === 'waiting')) {
          restarted = await terminateSession(deps.temporal, em, workflowId, 'simulator: the draft changed');
        }
        const owner = `sim:${chain.id}:${params.visitorId}`;
        const result = await sendWebMessage(deps, { chain, versionId: version.id, workflowId, visitorId: params.visitorId, owners: { user: owner, chat: owner, bot: `sim:chain:${chain.id}` } }, body);
        res.json({ runId: workflowId, chainId: chain.id, versionId: version.id, ...result, restarted });
      },
    }),
    defineOperation({
      method: 'get',
      path: '/chains/:id/simulate/:visitorId/messages',
      operationId: 'readSimulatorTranscript',
      summary: 'Simulator: the transcript of a simulated session',
      tags: ['simulator'],
      auth: 'bearer',
      params: simulateParamsSchema,
      query: chatEventsQuerySchema,
      errors: [404],
      responses: { 200: { description: 'Messages in and out, oldest first', schema: transcriptSchema } },
      handler: async ({ res, em, params, query, principal }) => {
        const chain = await loadChain(em, principal, params.id, 'chain:edit');
        res.json(await webTranscript(em, simulatorWorkflowId(chain.id, params.visitorId), query.after, query.limit));
      },
    }),
    defineOperation({
      method: 'delete',
      path: '/chains/:id/simulate/:visitorId',
      operationId: 'resetSimulator',
      summary: 'Simulator: end a simulated session (the next message starts afresh)',
      tags: ['simulator'],
      auth: 'bearer',
      params: simulateParamsSchema,
      errors: [404],
      responses: { 204: { description: 'Ended (or there was none)' } },
      handler: async ({ res, em, params, principal }) => {
        const chain = await loadChain(em, principal, params.id, 'chain:edit');
        await terminateSession(deps.temporal, em, simulatorWorkflowId(chain.id, params.visitorId), 'simulator reset');
        res.status(204).end();
      },
    }),
  ];
}
