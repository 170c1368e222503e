import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import type { EntityManager } from '@mikro-orm/postgresql';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ChainSchema, ChainVersionSchema, RunSchema, type Chain, type ChainVersion } from '../../db/entities.ts';
import type { JsonObject } from '../../chain/index.ts';
import { eachLimited } from '../../lib/each-limited.ts';
import { approvalSignal, messageSignal, sendUpdate, stateQuery, stopSignal, type dialogue, type InboundMessage, type SessionView } from '../../temporal/contracts.ts';
import type { Principal } from '../auth/principal.ts';
import { HttpError } from '../errors.ts';
import { authorize, can, roleOn, visibleChains } from '../policy.ts';
import { chatMessageSchema } from '../schemas/chat.ts';
import {
  bulkCancelBodySchema,
  bulkCancelResultSchema,
  cancelAcceptedSchema,
  liveStatuses,
  messageQuerySchema,
  migrateBodySchema,
  migrateResultSchema,
  queuedMessageSchema,
  reasonBodySchema,
  approvalBodySchema,
  approvalAcceptedSchema,
  runDetailSchema,
  runEventListSchema,
  runEventsQuerySchema,
  runListQuerySchema,
  runListSchema,
  runParamsSchema,
  sendResultSchema,
  startedRunSchema,
  startRunBodySchema,
  terminatedSchema,
} from '../schemas/runs.ts';
import { applyMigration, planMigration } from '../services/run-migration.ts';
import { closeRow, describe, loadRun, pickVersion, queryState, reconcileStatus, runView, startRun, temporalUiLink, type RunDeps } from '../services/runs.ts';
import { chainResource, loadChain } from './chain-views.ts';
import { defineOperation, type Operation } from './define.ts';

export type { RunDeps };

const tags: [string] = ['runs'];

/** The chain ids a principal may see runs of (undefined: all). */
async function visibleChainIds(em: EntityManager, principal: Principal): Promise<string[] | undefined> {
  const visible = visibleChains(principal);
  if (visible.all) return undefined;
  const chains = await em.find(ChainSchema, { $or: [{ ownerId: visible.ownerId }, ...(visible.ids.length ? [{ id: { $in: visible.ids } }] : [])] }, { fields: ['id'] });
  return chains.map((c) => c.id);
}

/** An inbound message from the API body; the sender is the web visitor or the run itself. */
function inboundMessage(runId: string, m: z.output<typeof chatMessageSchema>): InboundMessage {
  const sender = runId.startsWith('web:') ? runId.slice(runId.lastIndexOf(':') + 1) : runId;
  return {
    id: m.id ?? randomUUID(),
    ...(m.text !== undefined ? { text: m.text } : {}),
    ...(m.buttonId !== undefined ? { buttonId: m.buttonId, kind: 'button' as const } : {}),
    ...(m.value !== undefined ? { value: m.value } : {}),
    date: Math.floor(Date.now() / 1000),
    from: { id: sender, ...(m.language ? { language_code: m.language } : {}), ...(m.firstName ? { first_name: m.firstName } : {}) },
    chat: { id: sender, type: 'private' },
  };
}

const closedError = (id: string, what: string) =>
  new HttpError(409, 'run_closed', `Run ${id} has ended; ${what}. Start a new run with POST /api/v1/runs.`, { runId: id });

function stateView(state: SessionView) {
  return {
    currentNode: state.currentNode,
    wait: state.wait ? ({ ...state.wait } as Record<string, unknown>) : null,
    callStack: state.callStack.map((f) => ({ versionId: f.versionId, nodeId: f.nodeId, ...(f.callerNodeId !== undefined ? { callerNodeId: f.callerNodeId } : {}) })),
    variables: state.variables,
    inbox: state.inbox,
    ended: state.ended,
  };
}

/** Sends the stop signal; false when the session has already ended. */
async function stop(temporal: Client, id: string, reason: string): Promise<boolean> {
  try {
    await temporal.workflow.getHandle<typeof dialogue>(id).signal(stopSignal, reason);
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

/**
 * `/runs`: start, list, inspect, message, cancel, terminate and migrate sessions. A
 * run's permissions come from its chain: viewers read, editors act.
 */
export function runOperations(deps: RunDeps): Operation[] {
  const findVersionForMigration = async (em: EntityManager, principal: Principal, id: string, field: string): Promise<{ version: ChainVersion; chain: Chain }> => {
    const missing = () => new HttpError(404, 'version_not_found', `No chain version ${id} (${field}); GET /api/v1/chains/{id}/versions lists them.`, { field });
    const version = await em.findOne(ChainVersionSchema, { id });
    if (!version) throw missing();
    const chain = await em.findOne(ChainSchema, { id: version.chainId });
    if (!chain) throw missing();
    const resource = chainResource(chain);
    if (!can(principal, 'run:control', resource) && roleOn(principal, resource) === null) throw missing();
    authorize(principal, 'run:control', resource);
    return { version, chain };
  };

  return [
    defineOperation({
      method: 'get',
      path: '/runs',
      operationId: 'listRuns',
      summary: 'List runs (sessions) of the chains you may open',
      description: 'From the `run` table, newest first. `status` is what the session last flushed (running, waiting, completed, failed, stopped) or terminated; GET /runs/{id} asks Temporal.',
      tags,
      auth: 'bearer',
      query: runListQuerySchema,
      responses: { 200: { description: 'A page of runs', schema: runListSchema } },
      handler: async ({ res, em, query, principal }) => {
        authorize(principal, 'run:list');
        const where: Record<string, unknown>[] = [];
        const visible = await visibleChainIds(em, principal);
        if (visible) where.push({ chainId: { $in: visible } });
        if (query.chainId) where.push({ chainId: query.chainId });
        if (query.versionId) where.push({ versionId: query.versionId });
        if (query.botId) where.push({ botId: query.botId });
        if (query.channel) where.push({ channel: query.channel });
        if (query.status) where.push({ status: query.status });
        if (query.startedAfter) where.push({ startedAt: { $gte: new Date(query.startedAfter) } });
        if (query.startedBefore) where.push({ startedAt: { $lt: new Date(query.startedBefore) } });
        const [rows, total] = await em.findAndCount(RunSchema, where.length ? { $and: where } : {}, {
          orderBy: { startedAt: 'desc', id: 'asc' },
          offset: query.offset,
          limit: query.limit,
        });
        res.json({ items: rows.map(runView), total });
      },
    }),
    defineOperation({
      method: 'post',
      path: '/runs',
      operationId: 'startRun',
      summary: "Start a session at a chain's API start",
      description:
        "Runs the active published version (or `versionId` / `version`) from its start node with trigger kind `api` (409 `no_api_start` without one); `input` becomes `run.*`. Channel `api` (default) makes workflow `run:{uuid}`; channel `web` with a `visitorId` starts that visitor's web-chat session `web:{chainId}:{visitorId}` (409 `run_exists` while one runs). Replies land in the run's events (GET /runs/{id}/events). Needs the editor role on the chain.",
      tags,
      auth: 'bearer',
      body: startRunBodySchema,
      errors: [404, 409],
      responses: { 201: { description: 'The run, as indexed when it started', schema: startedRunSchema } },
      handler: async ({ res, em, body, principal }) => {
        const chain = await loadChain(em, principal, body.chain, 'run:control');
        const version = await pickVersion(em, chain, body);
        const run = await startRun(deps, em, { chain, version, channel: body.channel, visitorId: body.visitorId, input: body.input as JsonObject });
        res.status(201).json({ ...runView(run), temporalUiUrl: temporalUiLink(deps, run.id) });
      },
    }),
    defineOperation({
      method: 'post',
      path: '/runs/cancel',
      operationId: 'cancelRuns',
      summary: 'Cancel the live sessions of a chain (optionally of one version, or only running / only waiting ones)',
      description: 'Sends each the `stop` signal; they end cleanly (status stopped, outcome = reason) at once. Needs the editor role on the chain.',
      tags,
      auth: 'bearer',
      body: bulkCancelBodySchema,
      errors: [404],
      responses: { 202: { description: 'How many sessions were told to stop', schema: bulkCancelResultSchema } },
      handler: async ({ res, em, body, principal, audit }) => {
        const chain = await loadChain(em, principal, body.chainId, 'run:control');
        const reason = body.reason ?? 'cancelled';
        const rows = await em.find(
          RunSchema,
          { chainId: chain.id, status: { $in: body.status ? [body.status] : [...liveStatuses] }, ...(body.versionId ? { versionId: body.versionId } : {}) },
          { fields: ['id'], orderBy: { startedAt: 'asc' } },
        );
        const sent = await eachLimited(rows, 8, (row) => stop(deps.temporal, row.id, reason));
        const runIds = rows.filter((_, i) => sent[i]).map((row) => row.id);
        audit({ action: 'run.cancel_bulk', targetType: 'chain', targetId: chain.id, summary: { versionId: body.versionId ?? null, status: body.status ?? null, reason, count: runIds.length } });
        await em.flush();
        res.status(202).json({ count: runIds.length, runIds });
      },
    }),
    defineOperation({
      method: 'post',
      path: '/runs/migrate',
      operationId: 'migrateRuns',
      summary: 'Move waiting sessions of a version to another version of the same chain',
      description:
        "Each waiting session of `fromVersionId` is sent the `upgrade` signal and moves at its next wait point (a waiting session at once), its node ids mapped through `nodeMap` (unmapped ids stay). A session whose node (mapped) is missing from the new version, or has another type there, cannot move and is listed with the problem. `dryRun: true` lists what would move and sends nothing. Needs the editor role on the chain.",
      tags,
      auth: 'bearer',
      body: migrateBodySchema,
      errors: [404],
      responses: { 200: { description: 'What moved (or would move) and what cannot', schema: migrateResultSchema } },
      handler: async ({ res, em, body, principal, audit }) => {
        const from = await findVersionForMigration(em, principal, body.fromVersionId, 'body.fromVersionId');
        const plan = await planMigration(deps.temporal, em, from, body);
        const { to, items } = plan;
        let moved = 0;
        if (!body.dryRun) {
          moved = await applyMigration(deps.temporal, plan);
          audit({
            action: 'run.migrate',
            targetType: 'chain',
            targetId: from.chain.id,
            summary: { before: { versionId: from.version.id, version: from.version.number }, after: { versionId: to.id, version: to.number }, nodeMap: body.nodeMap, moved },
          });
          await em.flush();
        }
        res.json({
          dryRun: body.dryRun,
          chainId: from.chain.id,
          from: { id: from.version.id, number: from.version.number ?? null },
          to: { id: to.id, number: to.number ?? null },
          items,
          moved,
          skipped: items.filter((i) => !i.movable).length,
        });
      },
    }),
    defineOperation({
      method: 'get',
      path: '/runs/:id',
      operationId: 'getRun',
      summary: 'One run: status from Temporal, current node, call stack and variables, and its Temporal UI link',
      description: "Status comes from Temporal's describe; current node, call stack and variables from the session's `state` query (never secrets). The id contains ':' — encode it (`/runs/run%3A…`).",
      tags,
      auth: 'bearer',
      params: runParamsSchema,
      errors: [404, 503],
      responses: { 200: { description: 'The run', schema: runDetailSchema } },
      handler: async ({ res, em, params, principal }) => {
        const { row, chain } = await loadRun(em, deps.temporal, principal, params.id, 'run:view');
        const description = await describe(deps.temporal, params.id);
        const state = description ? await queryState(deps.temporal, params.id) : null;
        const temporalStatus = description?.status.name ?? null;
        const status = reconcileStatus(row ? runView(row).status : null, temporalStatus);
        const closeTime = description?.closeTime ?? null;
        if (row && (row.status === 'running' || row.status === 'waiting') && status !== 'running' && status !== 'waiting') {
          // The workflow ended without flushing (terminated, timed out): the index follows Temporal.
          await closeRow(em, row.id, status, closeTime ?? new Date());
        }
        let base: ReturnType<typeof runView>;
        if (row) base = { ...runView(row), status };
        else if (state && description) {
          base = {
            id: params.id,
            chainId: chain.id,
            versionId: state.versionId,
            versionNumber: state.versionNumber,
            channel: state.channel,
            botId: null,
            status,
            currentNode: state.currentNode,
            startedAt: description.startTime,
            updatedAt: new Date(),
            closedAt: closeTime,
          };
        } else {
          throw new HttpError(503, 'run_unavailable', `Run ${params.id} has not reported yet and no worker answers for it; try again shortly.`);
        }
        res.json({
          ...base,
          temporal: description
            ? { status: description.status.name, runId: description.runId, startTime: description.startTime, closeTime, historyLength: description.historyLength }
            : null,
          state: state ? stateView(state) : null,
          temporalUiUrl: temporalUiLink(deps, params.id),
        });
      },
    }),
    defineOperation({
      method: 'get',
      path: '/runs/:id/events',
      operationId: 'listRunEvents',
      summary: "A run's events, oldest first (node transitions, messages in and out, variable changes…)",
      tags,
      auth: 'bearer',
      params: runParamsSchema,
      query: runEventsQuerySchema,
      errors: [404],
      responses: { 200: { description: 'A page of events', schema: runEventListSchema } },
      handler: async ({ res, em, params, query, principal }) => {
        await loadRun(em, deps.temporal, principal, params.id, 'run:view');
        const conn = em.getConnection();
        const rows = await conn.execute<{ id: string; seq: number; type: string; node_id: string | null; payload: Record<string, unknown>; at: Date | string }[]>(
          `select id, seq, type, node_id, payload, at from run_event where run_id = ? and id > ? order by id limit ?`,
          [params.id, query.afterId, query.limit],
        );
        const [counted] = await conn.execute<{ n: string }[]>(`select count(*) as n from run_event where run_id = ? and id > ?`, [params.id, query.afterId]);
        res.json({
          items: rows.map((r) => ({ id: Number(r.id), seq: r.seq, type: r.type, nodeId: r.node_id, payload: r.payload, at: new Date(r.at) })),
          total: Number(counted?.n ?? 0),
        });
      },
    }),
    defineOperation({
      method: 'post',
      path: '/runs/:id/messages',
      operationId: 'sendRunMessage',
      summary: 'Send a message to a run',
      description:
        "`?wait=true`: through the `send` Update, answered with the bot's replies until its next wait (200). Otherwise the `message` signal queues it (202); replies land in the run's events. A repeated message `id` is processed once. Needs the editor role on the chain.",
      tags,
      auth: 'bearer',
      params: runParamsSchema,
      query: messageQuerySchema,
      body: chatMessageSchema,
      errors: [404, 409],
      responses: {
        200: { description: "The bot's replies (wait=true)", schema: sendResultSchema },
        202: { description: 'Queued (wait=false)', schema: queuedMessageSchema },
      },
      handler: async ({ res, em, params, query, body, principal }) => {
        await loadRun(em, deps.temporal, principal, params.id, 'run:control');
        const message = inboundMessage(params.id, body);
        const handle = deps.temporal.workflow.getHandle<typeof dialogue>(params.id);
        try {
          if (query.wait === 'true') {
            const result = await handle.executeUpdate(sendUpdate, { args: [message] });
            res.json({ runId: params.id, ...result });
          } else {
            await handle.signal(messageSignal, message);
            res.status(202).json({ runId: params.id, messageId: message.id });
          }
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) throw closedError(params.id, 'it takes no more messages');
          if (err instanceof WorkflowUpdateFailedError) throw new HttpError(409, 'message_refused', `Run ${params.id} did not take the message: ${err.message}`, { runId: params.id });
          throw err;
        }
      },
    }),
    defineOperation({
      method: 'post',
      path: '/runs/:id/cancel',
      operationId: 'cancelRun',
      summary: 'Cancel a run: it ends cleanly with outcome = reason (status stopped)',
      description: 'Sends the `stop` signal; the session flushes and ends at once, wherever it waits. Needs the editor role on the chain.',
      tags,
      auth: 'bearer',
      params: runParamsSchema,
      body: reasonBodySchema,
      errors: [404, 409],
      responses: { 202: { description: 'The session was told to stop', schema: cancelAcceptedSchema } },
      handler: async ({ res, em, params, body, principal, audit }) => {
        const { chain } = await loadRun(em, deps.temporal, principal, params.id, 'run:control');
        const reason = body.reason ?? 'cancelled';
        if (!(await stop(deps.temporal, params.id, reason))) throw closedError(params.id, 'there is nothing to cancel');
        audit({ action: 'run.cancel', targetType: 'run', targetId: params.id, summary: { chainId: chain.id, reason } });
        await em.flush();
        res.status(202).json({ runId: params.id, reason });
      },
    }),
    defineOperation({
      method: 'post',
      path: '/runs/:id/approvals',
      operationId: 'approveRunToolCall',
      summary: "Approve or deny an agent's tool call that waits for an operator",
      description: "Sends the `approval {callId, approved, by}` signal (`by` is you). Only a call the session waits for right now is accepted: its wait is `{kind: 'agent', from: 'operator', callId}`. Needs the editor role on the chain.",
      tags,
      auth: 'bearer',
      params: runParamsSchema,
      body: approvalBodySchema,
      errors: [404, 409],
      responses: { 202: { description: 'The decision was sent', schema: approvalAcceptedSchema } },
      handler: async ({ res, em, params, body, principal, audit }) => {
        const { chain } = await loadRun(em, deps.temporal, principal, params.id, 'run:control');
        const handle = deps.temporal.workflow.getHandle<typeof dialogue>(params.id);
        let state: SessionView;
        try {
          state = await handle.query(stateQuery);
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) throw closedError(params.id, 'nothing waits for approval');
          throw err;
        }
        const wait = state.wait;
        if (state.ended || wait?.kind !== 'agent' || wait.from !== 'operator' || wait.callId !== body.callId) {
          throw new HttpError(409, 'approval_not_waiting', `Run ${params.id} does not wait for an operator's approval of call '${body.callId}'${wait?.kind === 'agent' && wait.from === 'operator' ? `; it waits for call '${wait.callId}'` : ''}. GET /api/v1/runs/${params.id} shows its wait.`, { field: 'callId' });
        }
        const by = principal.user.email;
        await handle.signal(approvalSignal, { callId: body.callId, approved: body.approved, by });
        audit({ action: 'run.approval', targetType: 'run', targetId: params.id, summary: { chainId: chain.id, callId: body.callId, approved: body.approved } });
        await em.flush();
        res.status(202).json({ runId: params.id, callId: body.callId, approved: body.approved, by });
      },
    }),
    defineOperation({
      method: 'post',
      path: '/runs/:id/terminate',
      operationId: 'terminateRun',
      summary: 'Terminate a run in Temporal at once (status terminated)',
      description: 'Temporal ends the workflow without running any more of its code (no final flush); prefer cancel, which ends it cleanly. Needs the editor role on the chain.',
      tags,
      auth: 'bearer',
      params: runParamsSchema,
      body: reasonBodySchema,
      errors: [404, 409],
      responses: { 200: { description: 'The run is terminated', schema: terminatedSchema } },
      handler: async ({ res, em, params, body, principal, audit }) => {
        const { chain } = await loadRun(em, deps.temporal, principal, params.id, 'run:control');
        const reason = body.reason ?? 'terminated through the API';
        try {
          await deps.temporal.workflow.getHandle(params.id).terminate(reason);
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) throw closedError(params.id, 'there is nothing to terminate');
          throw err;
        }
        await closeRow(em, params.id, 'terminated');
        audit({ action: 'run.terminate', targetType: 'run', targetId: params.id, summary: { chainId: chain.id, reason } });
        await em.flush();
        res.json({ runId: params.id, status: 'terminated', reason });
      },
    }),
  ];
}
