import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.ts';
import type { NodeActivity } from '../../chain/runtime.ts';
import type { Session } from '../session.ts';
import { EFFECT_ACTIVITY_OPTIONS, runEffect } from './activity-step.ts';
import type { IrNodeOf, StepResult } from './types.ts';

const { searchKnowledge } = proxyActivities<Pick<Activities, NodeActivity<'knowledge'>>>(EFFECT_ACTIVITY_OPTIONS);

/**
 * knowledge: one search through the `searchKnowledge` activity, which checks that the
 * chain version's publisher may open the base. The query is rendered here (no secrets in
 * it); the best passages and their citations go into the variable. Nothing found leaves
 * through 'empty', a failure (a missing or unshared base, the embeddings service down
 * after the retries) through 'error'.
 */
export async function knowledgeStep(session: Session, node: IrNodeOf<'knowledge'>, workflowId: string): Promise<StepResult> {
  const config = node.config as typeof node.config & { sourceVersionId?: string };
  const query = session.render(config.query).trim();
  let found = 0;
  const result = await runEffect(session, node, 'knowledge', async () => {
    const answer = await searchKnowledge({
      baseId: config.baseId,
      query,
      limit: config.limit,
      runId: workflowId,
      ...(config.sourceVersionId ? { sourceVersionId: config.sourceVersionId } : {}),
    });
    if (!answer.ok) return { ok: false, error: answer.error ?? { code: 'knowledge_failed', message: answer.text }, set: [] };
    found = answer.citations.length;
    const citations = answer.citations.map((c, i) => ({ n: i + 1, document: c.document, documentId: c.documentId, chunkId: c.chunkId, ordinal: c.ordinal, heading: c.heading, text: c.text, score: c.score }));
    return { ok: true, set: [{ variable: config.variable, value: { query, text: found > 0 ? answer.text : '', citations } }], event: { baseId: config.baseId, found } };
  });
  return result.kind === 'port' && result.port === 'ok' && found === 0 ? { kind: 'port', port: 'empty' } : result;
}
