import { chooseVariant } from '../../chain/runtime.ts';
import type { Session } from '../session.ts';
import type { IrNodeOf, StepResult } from './types.ts';

/** split: a weighted variant chosen deterministically per session and node. */
export function splitStep(session: Session, node: IrNodeOf<'split'>, workflowId: string): StepResult {
  const variant = chooseVariant(node.config.variants, `${workflowId}:${node.id}`);
  session.emit('split.choice', { variant: variant.id, chainId: session.input.chainId }, node.id);
  return { kind: 'port', port: variant.id };
}
