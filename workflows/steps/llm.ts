import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.ts';
import type { NodeActivity } from '../../chain/runtime.ts';
import type { Session } from '../session.ts';
import { EFFECT_ACTIVITY_OPTIONS, effectInput, runEffect } from './activity-step.ts';
import type { IrNodeOf, StepResult } from './types.ts';

const { llmComplete } = proxyActivities<Pick<Activities, NodeActivity<'llm'>>>(EFFECT_ACTIVITY_OPTIONS);

/**
 * llm: one completion through the `llmComplete` activity, with the conversation's last
 * `memory.turns` exchanges (2 × turns entries, without the newest one, which is usually
 * the message the prompt renders).
 */
export function llmStep(session: Session, node: IrNodeOf<'llm'>, workflowId: string): Promise<StepResult> {
  const turns = node.config.memory.turns;
  const memory = turns > 0 ? session.state.turns.slice(-turns * 2 - 1, -1) : [];
  return runEffect(session, node, 'llm', () => llmComplete({ ...effectInput(session, node, workflowId, 'referenced'), memory }));
}
