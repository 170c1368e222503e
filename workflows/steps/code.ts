import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.ts';
import type { NodeActivity } from '../../chain/runtime.ts';
import type { Session } from '../session.ts';
import { EFFECT_ACTIVITY_OPTIONS, effectInput, runEffect } from './activity-step.ts';
import type { IrNodeOf, StepResult } from './types.ts';

// runCode heartbeats while its job waits for or runs in the sandbox: a dead worker is
// noticed in 10 s, and a cancellation reaches the activity (it drops the queued job).
const { runCode } = proxyActivities<Pick<Activities, NodeActivity<'code'>>>({ ...EFFECT_ACTIVITY_OPTIONS, heartbeatTimeout: '10 seconds' });

/** code: the node's JavaScript in the `runCode` activity's sandbox. */
export function codeStep(session: Session, node: IrNodeOf<'code'>, workflowId: string): Promise<StepResult> {
  return runEffect(session, node, 'code', () => runCode(effectInput(session, node, workflowId)));
}
