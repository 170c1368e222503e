// Moving the waiting sessions of one chain version to another (POST /runs/migrate). The
// plan asks every waiting session where it is and applies the workflow's own node-mapping
// rule (chain/node-map.ts), so a session listed as movable is one the `upgrade` signal
// will move; the rest are listed with what to put in the node map.

import type { EntityManager } from '@mikro-orm/postgresql';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { mapNode, versionIrOf, type ChainIR } from '../../chain/index.ts';
import { ChainVersionSchema, RunSchema, type Chain, type ChainVersion, type Run } from '../../db/entities.ts';
import { eachLimited } from '../../lib/each-limited.ts';
import { upgradeSignal, type dialogue, type SessionView } from '../../temporal/contracts.ts';
import { HttpError } from '../errors.ts';
import { queryState } from './runs.ts';

/** Sessions queried or signalled at once. */
const WIDTH = 8;

/** One waiting session and whether it can move. */
export interface MigrationItem {
  runId: string;
  currentNode: string | null;
  targetNode: string | null;
  movable: boolean;
  problem?: string;
}

export interface MigrationPlan {
  chain: Chain;
  from: ChainVersion;
  to: ChainVersion;
  nodeMap: Record<string, string>;
  items: MigrationItem[];
}

/**
 * Whether a waiting session can move: the node it waits at in the root chain (mapped) must
 * be in the new version, with the same type. Without a state answer, the run row's
 * current node stands in.
 */
export function planMove(run: Pick<Run, 'id' | 'currentNode'>, state: SessionView | null, from: ChainIR, to: ChainIR, toLabel: string, nodeMap: Record<string, string>): MigrationItem {
  const root = state?.callStack[0];
  const node = state ? (root?.nodeId ?? null) : (run.currentNode ?? null);
  if (node === null) return { runId: run.id, currentNode: null, targetNode: null, movable: true };
  const mapped = mapNode(from, to, nodeMap, node);
  const item = { runId: run.id, currentNode: node, targetNode: mapped.target };
  if (mapped.ok) return { ...item, movable: true };
  if (mapped.problem === 'missing') {
    const how = nodeMap[node] === undefined ? `map it in nodeMap ({"${node}": "<node of ${toLabel}>"})` : `fix nodeMap["${node}"]`;
    return { ...item, movable: false, problem: `Node '${mapped.target}' is not in ${toLabel}; ${how}.` };
  }
  return {
    ...item,
    movable: false,
    problem: `Node '${node}' is a ${mapped.fromType} node but '${mapped.target}' in ${toLabel} is a ${mapped.toType}; map it to a ${mapped.fromType} node.`,
  };
}

/** 400 unless every entry of the node map names a node of each version. */
function checkNodeMap(nodeMap: Record<string, string>, fromIr: ChainIR, fromLabel: string, toIr: ChainIR, toLabel: string): void {
  for (const [oldId, newId] of Object.entries(nodeMap)) {
    if (!fromIr.nodes[oldId]) {
      throw new HttpError(400, 'node_not_found', `body.nodeMap.${oldId}: '${oldId}' is not a node of ${fromLabel}; use the node ids of the version the sessions run.`, { field: `body.nodeMap.${oldId}` });
    }
    if (!toIr.nodes[newId]) {
      throw new HttpError(400, 'node_not_found', `body.nodeMap.${oldId}: '${newId}' is not a node of ${toLabel}; map to one of its node ids.`, { field: `body.nodeMap.${oldId}` });
    }
  }
}

/**
 * What a migration of `from`'s waiting sessions to version `toVersionId` would do. The
 * target must be a published version of the same chain (400 otherwise, naming the
 * field); sends nothing.
 */
export async function planMigration(
  temporal: Client,
  em: EntityManager,
  source: { chain: Chain; version: ChainVersion },
  request: { toVersionId: string; nodeMap: Record<string, string> },
): Promise<MigrationPlan> {
  const { chain, version: from } = source;
  const to = await em.findOne(ChainVersionSchema, { id: request.toVersionId });
  if (!to || to.chainId !== chain.id) {
    throw new HttpError(400, 'version_mismatch', `body.toVersionId: version ${request.toVersionId} is not a version of chain "${chain.slug}"; pick one from GET /api/v1/chains/${chain.id}/versions.`, {
      field: 'body.toVersionId',
    });
  }
  if (to.kind !== 'published') throw new HttpError(400, 'version_not_published', 'body.toVersionId: sessions move only to published versions; publish the draft first.', { field: 'body.toVersionId' });
  const fromIr = versionIrOf(from);
  const toIr = versionIrOf(to);
  const fromLabel = from.number !== null ? `version ${from.number}` : 'the draft version';
  const toLabel = `version ${to.number}`;
  checkNodeMap(request.nodeMap, fromIr, fromLabel, toIr, toLabel);
  const rows = await em.find(RunSchema, { versionId: from.id, status: 'waiting' }, { orderBy: { startedAt: 'asc' } });
  const items = await eachLimited(rows, WIDTH, async (row) => planMove(row, await queryState(temporal, row.id), fromIr, toIr, toLabel, request.nodeMap));
  return { chain, from, to, nodeMap: request.nodeMap, items };
}

/**
 * Sends the `upgrade` signal to every movable session of the plan; returns how many
 * were sent. A session that ended meanwhile is marked not movable, with that reason.
 */
export async function applyMigration(temporal: Client, plan: MigrationPlan): Promise<number> {
  let moved = 0;
  await eachLimited(plan.items, WIDTH, async (item) => {
    if (!item.movable) return;
    try {
      await temporal.workflow.getHandle<typeof dialogue>(item.runId).signal(upgradeSignal, { versionId: plan.to.id, nodeMap: plan.nodeMap });
      moved++;
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      item.movable = false;
      item.problem = 'The session ended before it could move.';
    }
  });
  return moved;
}
