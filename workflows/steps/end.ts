import type { IrNodeOf, StepResult } from './types.ts';

/** end: ends the frame (the session, or a sub-chain's call) with the node's outcome. */
export function endStep(node: IrNodeOf<'end'>): StepResult {
  return { kind: 'end', outcome: node.config.outcome ?? 'done' };
}
