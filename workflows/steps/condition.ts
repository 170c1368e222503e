import { evaluateRules } from '../../chain/runtime.ts';
import type { Session } from '../session.ts';
import type { IrNodeOf, StepResult } from './types.ts';

/** condition: 'true' when the rules hold, else 'false'. */
export function conditionStep(session: Session, node: IrNodeOf<'condition'>): StepResult {
  return { kind: 'port', port: evaluateRules(node.config.rules, session.scope()) ? 'true' : 'false' };
}
