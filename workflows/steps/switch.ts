import { evaluateRules } from '../../chain/runtime.ts';
import type { Session } from '../session.ts';
import type { IrNodeOf, StepResult } from './types.ts';

/** switch: the first case whose rules hold, else 'else'. */
export function switchStep(session: Session, node: IrNodeOf<'switch'>): StepResult {
  const scope = session.scope();
  const match = node.config.cases.find((c) => evaluateRules(c.rules, scope));
  return { kind: 'port', port: match?.id ?? 'else' };
}
