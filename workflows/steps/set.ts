import { applyAssignments, type JsonObject } from '../../chain/runtime.ts';
import type { Session } from '../session.ts';
import type { IrNodeOf, StepResult } from './types.ts';

/** set: assignments top to bottom; problems are logged and the rest still applies. */
export function setStep(session: Session, node: IrNodeOf<'set'>): StepResult {
  const { scope, problems } = applyAssignments(session.scope(), node.config.assignments);
  session.applyScope(scope);
  for (const a of node.config.assignments) session.emit('variable.set', { variable: a.variable }, node.id);
  for (const p of problems) {
    const problem: JsonObject = { index: p.index, variable: p.variable, message: p.message };
    session.emit('set.problem', problem, node.id);
  }
  return { kind: 'port', port: 'next' };
}
