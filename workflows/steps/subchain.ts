import type { JsonObject } from '../../chain/runtime.ts';
import type { Session } from '../session.ts';
import type { IrNodeOf, StepResult } from './types.ts';

/** sub-chain: runs the pinned version inline with its inputs as run.*. */
export function subchainStep(session: Session, node: IrNodeOf<'subchain'>): StepResult {
  const versionId = node.config.versionId;
  if (!versionId) {
    throw new Error(`Sub-chain node "${node.id}" has no pinned version; publish the chain again so "${node.config.chainRef}" is resolved.`);
  }
  const run: JsonObject = {};
  for (const input of node.config.inputs) run[input.param] = session.render(input.value);
  return { kind: 'call', versionId, run };
}
