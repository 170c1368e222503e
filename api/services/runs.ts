// Runs as the control plane sees them: the `run` table indexes sessions for lists and
// filters, Temporal is the source of truth for status (describe) and state (the `state`
// query). Start arguments carry ids only (DialogueInput); never a secret.

import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client, type WorkflowExecutionDescription } from '@temporalio/client';
import { versionIrOf, type JsonObject } from '../../chain/index.ts';
import { ChainSchema, ChainVersionSchema, RunSchema, type Chain, type ChainVersion, type Run } from '../../db/entities.ts';
import { ChainIdKey, ChannelKey, stateQuery, type dialogue, type DialogueInput, type SessionView } from '../../temporal/contracts.ts';
import type { Principal } from '../auth/principal.ts';
import { HttpError } from '../errors.ts';
import { visitorOwnerKey } from '../../db/visitors.ts';
import { ensureVisitor } from './visitors.ts';
import { authorize, type Action } from '../policy.ts';
import { runStatuses, type RunStatus } from '../schemas/runs.ts';

export interface RunDeps {
  temporal: Client;
  taskQueue: string;
  temporalUiUrl?: string | undefined;
  /** Called once per run this API started (metrics). */
  onRunStarted?: ((channel: 'api' | 'web') => void) | undefined;
}

/** How long a describe or a `state` query may take before the answer goes without it. */
const TEMPORAL_READ_MS = 5000;

/** The run in the Temporal UI, or null when no UI is configured. */
export function temporalUiLink(deps: Pick<RunDeps, 'temporal' | 'temporalUiUrl'>, workflowId: string): string | null {
  if (!deps.temporalUiUrl) return null;
  return `${deps.temporalUiUrl.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(deps.temporal.options.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

const asStatus = (status: string): RunStatus => (runStatuses as readonly string[]).includes(status) ? (status as RunStatus) : 'running';

/** A `run` row as the API shows it. */
export function runView(row: Run) {
  return {
    id: row.id,
    chainId: row.chainId,
    versionId: row.versionId,
    versionNumber: row.versionNumber ?? null,
    channel: row.channel,
    botId: row.botId ?? null,
    status: asStatus(row.status),
    currentNode: row.currentNode ?? null,
    startedAt: row.startedAt,
    updatedAt: row.updatedAt,
    closedAt: row.closedAt ?? null,
  };
}

/**
 * The run's row and chain if the principal may do `action` on it (view: the viewer role
 * on its chain; control: editor). A run of a chain one has no role on is 404, like one
 * that does not exist. A session Temporal knows but that has not flushed its first row
 * yet is found through its `ChainId` search attribute.
 */
export async function loadRun(em: EntityManager, temporal: Client, principal: Principal | null, id: string, action: Action): Promise<{ row: Run | null; chain: Chain }> {
  const notFound = () => new HttpError(404, 'run_not_found', `No run with id "${id}"; GET /api/v1/runs lists them.`);
  const row = await em.findOne(RunSchema, { id });
  let chainId = row?.chainId;
  if (!chainId) {
    const description = await describe(temporal, id);
    const fromTemporal = description?.typedSearchAttributes.get(ChainIdKey);
    if (!fromTemporal) throw notFound();
    chainId = fromTemporal;
  }
  const chain = await em.findOne(ChainSchema, { id: chainId });
  if (!chain) throw notFound();
  authorize(principal, action, { type: 'chain', id: chain.id, ownerId: chain.ownerId ?? null, run: id });
  return { row, chain };
}

/** Temporal's description of a workflow, or null when it has none (never started, or past retention). */
export async function describe(temporal: Client, id: string): Promise<WorkflowExecutionDescription | null> {
  try {
    return await temporal.withDeadline(Date.now() + TEMPORAL_READ_MS, () => temporal.workflow.getHandle(id).describe());
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return null;
    throw err;
  }
}

/** The session's `state` query answer, or null when it cannot answer in time (no worker, unreplayable). */
export async function queryState(temporal: Client, id: string): Promise<SessionView | null> {
  try {
    return await temporal.withDeadline(Date.now() + TEMPORAL_READ_MS, () => temporal.workflow.getHandle<typeof dialogue>(id).query(stateQuery));
  } catch {
    return null;
  }
}

/**
 * The status to show: Temporal's, in the run table's words. While the workflow runs, the
 * row says whether it is running or waiting; once closed, Temporal decides (a terminated
 * or timed-out workflow never flushed its end).
 */
export function reconcileStatus(rowStatus: RunStatus | null, temporalStatus: string | null): RunStatus {
  switch (temporalStatus) {
    case null:
      return rowStatus ?? 'running';
    case 'RUNNING':
      return rowStatus === 'waiting' ? 'waiting' : 'running';
    case 'TERMINATED':
      return 'terminated';
    case 'FAILED':
    case 'TIMED_OUT':
      return 'failed';
    case 'CANCELLED':
      return 'stopped';
    default:
      // COMPLETED (and CONTINUED_AS_NEW, which describe of the latest run does not report):
      // the flush wrote completed, failed (outcome) or stopped.
      return rowStatus && rowStatus !== 'running' && rowStatus !== 'waiting' ? rowStatus : 'completed';
  }
}

/** Marks a row closed with `status` when it still says running or waiting (the workflow ended without flushing). */
export async function closeRow(em: EntityManager, id: string, status: RunStatus, closedAt: Date = new Date()): Promise<void> {
  await em.nativeUpdate(RunSchema, { id, status: { $in: ['running', 'waiting'] } }, { status, closedAt, updatedAt: new Date() });
}

export interface StartRunInput {
  chain: Chain;
  version: ChainVersion;
  channel: 'api' | 'web';
  visitorId?: string | undefined;
  input: JsonObject;
}

/**
 * Starts a session at the version's `api` start: workflow `run:{uuid}` on channel api,
 * or the visitor's web-chat session `web:{chainId}:{visitorId}` on channel web. Writes
 * the run row at once (status running), so lists show the run before its first flush.
 */
export async function startRun(deps: RunDeps, em: EntityManager, req: StartRunInput): Promise<Run> {
  const ir = versionIrOf(req.version);
  if (!ir.entries.api) {
    throw new HttpError(
      409,
      'no_api_start',
      `Chain "${req.chain.slug}" version ${req.version.number ?? 'draft'} has no API start; add a start node with trigger kind 'api', publish, and start the run again.`,
      { chainId: req.chain.id, versionId: req.version.id, entries: Object.keys(ir.entries) },
    );
  }
  const web = req.channel === 'web' && req.visitorId !== undefined;
  const workflowId = web ? `web:${req.chain.id}:${req.visitorId}` : `run:${randomUUID()}`;
  // A web session's persisted variables belong to its visitor (created here if the id has none; its token is not issued to anyone then).
  const owner = web && req.visitorId !== undefined ? visitorOwnerKey(await ensureVisitor(em, req.chain.id, req.visitorId)) : `api:${workflowId.slice('run:'.length)}`;
  const input: DialogueInput = {
    chainId: req.chain.id,
    versionId: req.version.id,
    channel: req.channel,
    entry: 'api',
    input: req.input,
    owners: { user: owner, chat: owner, bot: `chain:${req.chain.id}` },
  };
  try {
    await deps.temporal.workflow.start<typeof dialogue>('dialogue', {
      workflowId,
      taskQueue: deps.taskQueue,
      args: [input],
      typedSearchAttributes: [
        { key: ChainIdKey, value: req.chain.id },
        { key: ChannelKey, value: req.channel },
      ],
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      throw new HttpError(409, 'run_exists', `Session ${workflowId} is running already; message it (POST /api/v1/runs/${encodeURIComponent(workflowId)}/messages) or cancel it first.`, { runId: workflowId });
    }
    throw err;
  }
  deps.onRunStarted?.(req.channel);
  // The workflow's first flush may come first: it wins over this row (unless this replaces
  // the closed row of the visitor's previous web session).
  await em.getConnection().execute(
    `insert into run (id, chain_id, version_id, version_number, channel, bot_id, status, current_node, started_at, updated_at, closed_at)
     values (?, ?, ?, ?, ?, null, 'running', null, now(), now(), null)
     on conflict (id) do update set version_id = excluded.version_id, version_number = excluded.version_number, status = 'running',
       current_node = null, started_at = now(), updated_at = now(), closed_at = null
     where run.closed_at is not null`,
    [workflowId, req.chain.id, req.version.id, req.version.number ?? null, req.channel],
  );
  return em.fork().findOneOrFail(RunSchema, { id: workflowId });
}

/**
 * The published version a run starts on: `versionId` or `version` (a number), else the
 * chain's active version. 404 names the chain when it has no such version.
 */
export async function pickVersion(em: EntityManager, chain: Chain, pick: { versionId?: string | undefined; version?: number | undefined }): Promise<ChainVersion> {
  let version: ChainVersion | null;
  if (pick.versionId !== undefined) version = await em.findOne(ChainVersionSchema, { id: pick.versionId, chainId: chain.id, kind: 'published' });
  else if (pick.version !== undefined) version = await em.findOne(ChainVersionSchema, { chainId: chain.id, kind: 'published', number: pick.version });
  else {
    if (!chain.activeVersionId) throw new HttpError(409, 'not_published', `Chain "${chain.slug}" has no published version yet; publish it first.`);
    version = await em.findOne(ChainVersionSchema, { id: chain.activeVersionId });
  }
  if (!version) {
    const which = pick.versionId !== undefined ? `version ${pick.versionId}` : `version ${pick.version}`;
    throw new HttpError(404, 'version_not_found', `Chain "${chain.slug}" has no published ${which}; GET /api/v1/chains/${chain.id}/versions lists them.`, {
      field: pick.versionId !== undefined ? 'body.versionId' : 'body.version',
    });
  }
  return version;
}
