import { ScheduleNotFoundError, type Client, type ScheduleOptions } from '@temporalio/client';
import type { ChainIR } from '../chain/index.ts';
import type { RetentionSettings } from '../activities/cleanup.ts';
import { ChainIdKey, ChannelKey, type dialogue, type DialogueInput } from './contracts.ts';

/** The Temporal Schedule of one schedule-trigger start node. */
export const scheduleIdOf = (chainId: string, nodeId: string) => `chain:${chainId}:schedule:${nodeId}`;

interface ScheduleTrigger {
  nodeId: string;
  cron: string;
  timezone: string;
}

/** The schedule-trigger start nodes of a compiled chain. */
export function scheduleTriggers(ir: ChainIR | null | undefined): ScheduleTrigger[] {
  if (!ir) return [];
  const triggers: ScheduleTrigger[] = [];
  for (const [key, nodeId] of Object.entries(ir.entries)) {
    if (!key.startsWith('schedule:')) continue;
    const node = ir.nodes[nodeId];
    if (node?.type === 'start' && node.config.trigger.kind === 'schedule') {
      triggers.push({ nodeId, cron: node.config.trigger.cron, timezone: node.config.trigger.timezone });
    }
  }
  return triggers;
}

export interface SyncSchedulesOptions {
  taskQueue: string;
  chainId: string;
  /** The version now active; null when the chain is deleted or has none. */
  version: { id: string; ir: ChainIR } | null;
  /** The version that was active before, so its removed triggers are deleted. */
  previous?: ChainIR | null;
  /** Pause every schedule of the chain (e.g. the chain is disabled). */
  paused?: boolean;
}

/**
 * Makes the chain's Temporal Schedules match its active version: one per schedule
 * trigger, created or updated (cron, time zone, the version they start), removed
 * triggers deleted. Each firing starts a dialogue on the API channel at that trigger,
 * with workflow id `run:sched:{chainId}:{nodeId}-{firing time}` (Temporal appends the time).
 */
export async function syncSchedules(client: Client, opts: SyncSchedulesOptions): Promise<{ upserted: string[]; deleted: string[] }> {
  const wanted = scheduleTriggers(opts.version?.ir);
  const wantedIds = new Set(wanted.map((t) => scheduleIdOf(opts.chainId, t.nodeId)));
  const upserted: string[] = [];
  const deleted: string[] = [];

  for (const trigger of wanted) {
    const scheduleId = scheduleIdOf(opts.chainId, trigger.nodeId);
    const versionId = opts.version?.id ?? '';
    const input: DialogueInput = {
      chainId: opts.chainId,
      versionId,
      channel: 'api',
      entry: `schedule:${trigger.nodeId}`,
      owners: { user: `schedule:${opts.chainId}:${trigger.nodeId}`, chat: `schedule:${opts.chainId}:${trigger.nodeId}`, bot: `chain:${opts.chainId}` },
    };
    const options: ScheduleOptions = {
      scheduleId,
      spec: { cronExpressions: [trigger.cron], timezone: trigger.timezone },
      action: {
        type: 'startWorkflow',
        workflowType: 'dialogue',
        workflowId: `run:sched:${opts.chainId}:${trigger.nodeId}`,
        taskQueue: opts.taskQueue,
        args: [input] as Parameters<typeof dialogue>,
        typedSearchAttributes: [
          { key: ChainIdKey, value: opts.chainId },
          { key: ChannelKey, value: 'api' },
        ],
      },
      policies: { overlap: 'ALLOW_ALL', catchupWindow: '5 minutes' },
      state: { paused: opts.paused ?? false, note: `Chainflow chain ${opts.chainId}, start node ${trigger.nodeId}` },
    };
    const handle = client.schedule.getHandle(scheduleId);
    try {
      await handle.update((previous) => ({ ...previous, spec: options.spec, action: options.action, policies: { ...previous.policies, ...options.policies }, state: { ...previous.state, paused: opts.paused ?? false } }));
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
      await client.schedule.create(options);
    }
    upserted.push(scheduleId);
  }

  for (const trigger of scheduleTriggers(opts.previous)) {
    const scheduleId = scheduleIdOf(opts.chainId, trigger.nodeId);
    if (wantedIds.has(scheduleId)) continue;
    try {
      await client.schedule.getHandle(scheduleId).delete();
      deleted.push(scheduleId);
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    }
  }
  return { upserted, deleted };
}

/** The Schedule of the daily retention cleanup. */
export const CLEANUP_SCHEDULE_ID = 'chainflow:retention-cleanup';

/**
 * Creates or updates the daily retention cleanup (03:17 UTC), a `retentionCleanup`
 * workflow with the configured retention. Idempotent: run at every API start, so changed
 * RETENTION_* settings take effect with the next start.
 */
export async function syncCleanupSchedule(client: Client, opts: { taskQueue: string; retention: RetentionSettings; scheduleId?: string }): Promise<string> {
  const scheduleId = opts.scheduleId ?? CLEANUP_SCHEDULE_ID;
  const options: ScheduleOptions = {
    scheduleId,
    spec: { cronExpressions: ['17 3 * * *'], timezone: 'UTC' },
    action: { type: 'startWorkflow', workflowType: 'retentionCleanup', workflowId: scheduleId, taskQueue: opts.taskQueue, args: [opts.retention] },
    policies: { overlap: 'SKIP', catchupWindow: '1 day' },
    state: { note: 'Chainflow: deletes rows past their retention (RETENTION_* settings)' },
  };
  const handle = client.schedule.getHandle(scheduleId);
  try {
    await handle.update((previous) => ({ ...previous, spec: options.spec, action: options.action, policies: { ...previous.policies, ...options.policies } }));
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
    await client.schedule.create(options);
  }
  return scheduleId;
}
