import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.ts';
import type { IrNode, PluginActivity, PluginIrNode } from '../../chain/runtime.ts';
import type { Session } from '../session.ts';
import { EFFECT_ACTIVITY_OPTIONS, effectInput, runEffect } from './activity-step.ts';
import type { StepResult } from './types.ts';

const { runPluginNode } = proxyActivities<Pick<Activities, PluginActivity>>(EFFECT_ACTIVITY_OPTIONS);

/** Whether an IR node is a plugin node (`plugin:<pluginId>/<type>`); otherwise it is a built-in one. */
export function isPluginNode(node: IrNode): node is PluginIrNode {
  return node.type.startsWith('plugin:');
}

/** A plugin node (`plugin:<pluginId>/<type>`): one `runPluginNode` activity call. */
export function pluginStep(session: Session, node: PluginIrNode, workflowId: string): Promise<StepResult> {
  return runEffect(session, node, 'plugin', () => runPluginNode({ ...effectInput(session, node, workflowId), pluginType: node.type }));
}
