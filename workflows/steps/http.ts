import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.ts';
import type { NodeActivity } from '../../chain/runtime.ts';
import type { Session } from '../session.ts';
import { EFFECT_ACTIVITY_OPTIONS, effectInput, runEffect } from './activity-step.ts';
import type { IrNodeOf, StepResult } from './types.ts';

const { httpRequest } = proxyActivities<Pick<Activities, NodeActivity<'http'>>>(EFFECT_ACTIVITY_OPTIONS);

/** http: one request through the `httpRequest` activity (secrets are resolved there). */
export function httpStep(session: Session, node: IrNodeOf<'http'>, workflowId: string): Promise<StepResult> {
  return runEffect(session, node, 'http', () => httpRequest(effectInput(session, node, workflowId, 'referenced')));
}
