import type { EntityManager } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import { versionIrOf, type ChainIR } from '../../chain/index.ts';
import { ChainSchema, ChainVersionSchema } from '../../db/entities.ts';
import type { Logger } from '../../lib/logger.ts';
import { scheduleIdOf, scheduleTriggers, syncSchedules } from '../../temporal/schedules.ts';

export interface TriggerDeps {
  temporal: Client;
  taskQueue: string;
}

async function irOf(em: EntityManager, versionId: string | null | undefined): Promise<{ id: string; ir: ChainIR } | null> {
  if (!versionId) return null;
  const version = await em.findOne(ChainVersionSchema, { id: versionId }, { fields: ['id', 'chainId', 'number', 'ir'] });
  return version ? { id: version.id, ir: versionIrOf(version) } : null;
}

/**
 * Makes a chain's Temporal Schedules follow its active version after a publish, a
 * rollback or an import (`previousVersionId` = the version active before), or removes
 * them when the chain is deleted (`activeVersionId` null).
 */
export async function syncChainTriggers(deps: TriggerDeps, em: EntityManager, chainId: string, previousVersionId: string | null, activeVersionId: string | null): Promise<void> {
  const [previous, active] = await Promise.all([irOf(em, previousVersionId), irOf(em, activeVersionId)]);
  await syncSchedules(deps.temporal, { taskQueue: deps.taskQueue, chainId, version: active, previous: previous?.ir ?? null });
}

/**
 * At API start: every chain's schedules match its active version (chains imported by the
 * CLI or seeded before Temporal ran get theirs here; schedules of deleted chains or
 * removed triggers are deleted). Idempotent; concurrent replicas may both run it.
 */
export async function reconcileTriggers(deps: TriggerDeps, em: EntityManager, logger: Logger): Promise<{ chains: number; schedules: number; removed: number }> {
  const chains = await em.find(ChainSchema, { activeVersionId: { $ne: null } }, { fields: ['id', 'activeVersionId'] });
  const wanted = new Set<string>();
  let schedules = 0;
  for (const chain of chains) {
    const active = await irOf(em, chain.activeVersionId);
    if (!active) continue;
    const triggers = scheduleTriggers(active.ir);
    for (const t of triggers) wanted.add(scheduleIdOf(chain.id, t.nodeId));
    if (triggers.length === 0) continue;
    try {
      schedules += (await syncSchedules(deps.temporal, { taskQueue: deps.taskQueue, chainId: chain.id, version: active })).upserted.length;
    } catch (err) {
      logger.warn({ err, chainId: chain.id }, 'schedule sync failed; it is retried at the next start or publish');
    }
  }
  let removed = 0;
  for await (const s of deps.temporal.schedule.list()) {
    if (!s.scheduleId.startsWith('chain:') || !s.scheduleId.includes(':schedule:') || wanted.has(s.scheduleId)) continue;
    await deps.temporal.schedule.getHandle(s.scheduleId).delete().catch(() => undefined);
    removed++;
  }
  return { chains: chains.length, schedules, removed };
}
