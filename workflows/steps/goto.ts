import type { IrNodeOf, StepResult } from './types.ts';

/** goto: continue at the target node (it has no ports). */
export function gotoStep(node: IrNodeOf<'goto'>): StepResult {
  return { kind: 'jump', nodeId: node.config.target };
}
