import { z } from 'zod';
import { dateTime, listOf, nullableDateTime, pagingShape, storable, uuidSchema } from './common.ts';
import { outboundMessageSchema, visitorIdSchema } from './chat.ts';

/**
 * A run's status in the `run` table: what the workflow's flush writes at each wait
 * (`running`, `waiting`, `completed`, `failed`, `stopped`), plus `terminated` for
 * sessions ended with POST /runs/{id}/terminate (or found terminated in Temporal).
 */
export const runStatuses = ['running', 'waiting', 'completed', 'failed', 'stopped', 'terminated'] as const;
export type RunStatus = (typeof runStatuses)[number];
/** Statuses of sessions that still run (and may be messaged, cancelled or migrated). */
export const liveStatuses = ['running', 'waiting'] as const satisfies readonly RunStatus[];

export const runChannels = ['web', 'telegram_bot', 'telegram_user', 'api'] as const;

const iso = (what: string) => z.iso.datetime({ offset: true, message: 'Use an ISO 8601 date-time like 2026-01-31T00:00:00Z' }).meta({ description: what });

/**
 * A workflow id: `run:{uuid}`, `web:{chainId}:{visitorId}` or `chat:{botId}:{chatId}`.
 * It contains ':' — encode it in URLs (`/runs/run%3A…`); a raw ':' works too.
 */
export const runIdSchema = z
  .string()
  .max(300)
  .regex(/^(run|web|chat):[^/\s]+$/, "Use a run id as listed by GET /api/v1/runs, e.g. 'run:3f0c…' or 'web:{chainId}:{visitorId}' (URL-encode the ':' as %3A)")
  .meta({ description: "The run's workflow id (URL-encode ':' as %3A)", example: 'run:0b6c1a52-3f7e-4e0e-9a51-2f1f5f8e2c11' });

export const runParamsSchema = z.strictObject({ id: runIdSchema });

export const runListQuerySchema = z.strictObject({
  chainId: uuidSchema.optional().meta({ description: 'Runs of this chain' }),
  versionId: uuidSchema.optional().meta({ description: 'Runs pinned to this chain version' }),
  botId: uuidSchema.optional().meta({ description: 'Runs of this bot' }),
  channel: z.enum(runChannels).optional(),
  status: z.enum(runStatuses).optional(),
  startedAfter: iso('Started at or after (ISO 8601)').optional(),
  startedBefore: iso('Started before (ISO 8601)').optional(),
  ...pagingShape,
});

export const runSchema = z
  .object({
    id: z.string().meta({ description: 'The workflow id' }),
    chainId: z.uuid(),
    versionId: z.uuid(),
    versionNumber: z.number().int().nullable().meta({ description: 'Published version number (null for simulator drafts)' }),
    channel: z.string(),
    botId: z.uuid().nullable(),
    status: z.enum(runStatuses),
    currentNode: z.string().nullable().meta({ description: 'The node the session waits at (last flush)' }),
    startedAt: dateTime,
    updatedAt: dateTime,
    closedAt: nullableDateTime,
  })
  .meta({ id: 'Run' });

export const runListSchema = listOf(runSchema, 'RunList');

const jsonRecord = z.record(z.string(), z.unknown());

export const sessionStateSchema = z
  .object({
    currentNode: z.string().nullable(),
    wait: jsonRecord.nullable().meta({ description: "What the session waits for: {kind: 'entry' | 'reply' | 'timer', nodeId, deadline | wakeAt}" }),
    callStack: z
      .array(z.object({ versionId: z.string(), nodeId: z.string().nullable(), callerNodeId: z.string().optional() }))
      .meta({ description: 'Root chain first, then each sub-chain called inline' }),
    variables: z
      .object({ session: jsonRecord, user: jsonRecord, chat: jsonRecord, bot: jsonRecord, run: jsonRecord, message: jsonRecord })
      .meta({ description: 'Variables by scope (never secrets: the workflow never holds any)' }),
    inbox: z.number().int().meta({ description: 'Unread inbound messages' }),
    ended: z.boolean(),
  })
  .meta({ id: 'SessionState' });

export const runDetailSchema = runSchema
  .extend({
    temporal: z
      .object({
        status: z.string().meta({ description: "Temporal's execution status: RUNNING, COMPLETED, FAILED, TERMINATED, CANCELLED, TIMED_OUT…" }),
        runId: z.string().meta({ description: 'Temporal run id of the latest execution (changes with continue-as-new)' }),
        startTime: dateTime,
        closeTime: nullableDateTime,
        historyLength: z.number().int(),
      })
      .nullable()
      .meta({ description: 'From Temporal describe; null when Temporal no longer has the workflow (retention)' }),
    state: sessionStateSchema.nullable().meta({ description: "The `state` query's answer; null when the session cannot answer (no worker, or closed and not replayable)" }),
    temporalUiUrl: z.string().nullable().meta({ description: 'The run in the Temporal UI (null when no UI is configured)' }),
  })
  .meta({ id: 'RunDetail' });

export const startRunBodySchema = z
  .strictObject({
    chain: storable(z.string().min(1).max(100)).meta({ description: 'Chain id (UUID) or slug' }),
    versionId: uuidSchema.optional().meta({ description: 'A published version of the chain (default: the active one)' }),
    version: z.number().int().min(1).optional().meta({ description: 'A published version number (instead of versionId)' }),
    channel: z.enum(['api', 'web']).default('api').meta({ description: "'api' (workflow run:{uuid}) or 'web' (workflow web:{chainId}:{visitorId}: the visitor's web-chat session)" }),
    visitorId: visitorIdSchema
      .refine((v) => !v.startsWith('sim-'), "Visitor ids starting with 'sim-' are reserved for the editor's simulator; use another id")
      .optional()
      .meta({ description: "Required with channel 'web'" }),
    input: storable(jsonRecord).default({}).meta({ description: 'Input variables: run.* in the chain' }),
  })
  .refine((b) => !(b.versionId !== undefined && b.version !== undefined), { message: 'Send versionId or version, not both', path: ['version'] })
  .refine((b) => b.channel !== 'web' || b.visitorId !== undefined, { message: "Channel 'web' needs a visitorId (the visitor whose web-chat session this is)", path: ['visitorId'] })
  .refine((b) => b.channel === 'web' || b.visitorId === undefined, { message: "visitorId is only for channel 'web'; drop it or set channel: 'web'", path: ['visitorId'] })
  .meta({ id: 'StartRunRequest' });

export const startedRunSchema = runSchema.extend({ temporalUiUrl: z.string().nullable() }).meta({ id: 'StartedRun' });

export const runEventsQuerySchema = z.strictObject({
  afterId: z.coerce.number().int().min(0).default(0).meta({ description: 'Only events after this id (the last id of the previous page)' }),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

export const runEventSchema = z
  .object({
    id: z.number().int().meta({ description: 'Increasing; pass the last one as afterId for the next page' }),
    seq: z.number().int(),
    type: z.string().meta({ description: 'node.enter, message.in, message.out, variable.set, session.start, session.end…' }),
    nodeId: z.string().nullable(),
    payload: jsonRecord,
    at: dateTime,
  })
  .meta({ id: 'RunEvent' });

export const runEventListSchema = z
  .object({
    items: z.array(runEventSchema),
    total: z.number().int().meta({ description: 'Events of the run after afterId (in all pages)' }),
  })
  .meta({ id: 'RunEventList' });

export const messageQuerySchema = z.strictObject({
  wait: z.enum(['true', 'false']).default('false').meta({ description: "true: answer with the bot's replies until its next wait (Update `send`); false: queue the message (signal `message`) and answer 202" }),
});

export const sendResultSchema = z
  .object({
    runId: z.string(),
    messageId: z.string(),
    replies: z.array(outboundMessageSchema),
    duplicate: z.boolean(),
    queued: z.boolean(),
    ended: z.boolean(),
    waitingAt: z.string().nullable(),
  })
  .meta({ id: 'RunMessageReply' });

export const queuedMessageSchema = z.object({ runId: z.string(), messageId: z.string() }).meta({ id: 'QueuedRunMessage' });

export const reasonBodySchema = z
  .strictObject({ reason: storable(z.string().min(1).max(200)).optional().meta({ description: "Recorded as the session's outcome (cancel) or the termination reason (terminate)" }) })
  .meta({ id: 'RunStopRequest' });

export const approvalBodySchema = z
  .strictObject({
    callId: storable(z.string().min(1).max(200)).meta({ description: "The agent's tool call to decide (the `callId` of its `agent.approval_requested` run event, or `wait.callId` of GET /runs/{id})" }),
    approved: z.boolean().meta({ description: 'true runs the tool call; false tells the model it was denied' }),
  })
  .meta({ id: 'RunApprovalRequest' });

export const approvalAcceptedSchema = z.object({ runId: z.string(), callId: z.string(), approved: z.boolean(), by: z.string() }).meta({ id: 'RunApprovalAccepted' });

export const terminatedSchema = z.object({ runId: z.string(), status: z.literal('terminated'), reason: z.string() }).meta({ id: 'RunTerminated' });

export const cancelAcceptedSchema = z.object({ runId: z.string(), reason: z.string() }).meta({ id: 'RunCancelAccepted' });

export const bulkCancelBodySchema = z
  .strictObject({
    chainId: storable(z.string().min(1).max(100)).meta({ description: 'Chain id (UUID) or slug (required)' }),
    versionId: uuidSchema.optional(),
    status: z.enum(liveStatuses).optional().meta({ description: 'Only running or only waiting sessions (default: both)' }),
    reason: storable(z.string().min(1).max(200)).optional(),
  })
  .meta({ id: 'BulkCancelRequest' });

export const bulkCancelResultSchema = z
  .object({ count: z.number().int().meta({ description: 'Sessions sent the stop signal' }), runIds: z.array(z.string()) })
  .meta({ id: 'BulkCancelResult' });

export const migrateBodySchema = z
  .strictObject({
    fromVersionId: uuidSchema,
    toVersionId: uuidSchema.meta({ description: 'A published version of the same chain' }),
    nodeMap: z
      .record(storable(z.string().min(1).max(200)), storable(z.string().min(1).max(200)))
      .default({})
      .meta({ description: 'Old node id → new node id; unmapped ids stay the same' }),
    dryRun: z.boolean().default(false).meta({ description: 'List what would move without sending anything' }),
  })
  .refine((b) => b.fromVersionId !== b.toVersionId, { message: 'fromVersionId and toVersionId are the same version', path: ['toVersionId'] })
  .meta({ id: 'MigrateRunsRequest' });

export const migrateResultSchema = z
  .object({
    dryRun: z.boolean(),
    chainId: z.uuid(),
    from: z.object({ id: z.uuid(), number: z.number().int().nullable() }),
    to: z.object({ id: z.uuid(), number: z.number().int().nullable() }),
    items: z.array(
      z.object({
        runId: z.string(),
        currentNode: z.string().nullable().meta({ description: "The node of the root chain the session is at (in a sub-chain: the sub-chain node)" }),
        targetNode: z.string().nullable().meta({ description: 'Where it resumes in the new version' }),
        movable: z.boolean(),
        problem: z.string().optional().meta({ description: 'Why it cannot move' }),
      }),
    ),
    moved: z.number().int().meta({ description: 'Sessions sent the upgrade signal (0 on a dry run)' }),
    skipped: z.number().int().meta({ description: 'Sessions that cannot move (listed with their problem)' }),
  })
  .meta({ id: 'MigrateRunsResult' });
