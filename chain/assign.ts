// The set node's assignments. zod-free: it runs in the workflow sandbox.
import type { JsonValue } from './json.ts';
import { coerceValue, getVariable, setVariable, unsetVariable, type Scope } from './scope.ts';
import { renderTemplate } from './template.ts';
import type { Assignment } from './nodes/set.ts';

export interface AssignmentProblem {
  index: number;
  variable: string;
  message: string;
}

/**
 * Applies assignments in order (pure). A value that does not convert to its type is
 * skipped and reported, so the interpreter can log it and carry on.
 */
export function applyAssignments(scope: Scope, assignments: readonly Assignment[]): { scope: Scope; problems: AssignmentProblem[] } {
  const problems: AssignmentProblem[] = [];
  let current = scope;
  assignments.forEach((assignment, index) => {
    const report = (message: string): void => {
      problems.push({ index, variable: assignment.variable, message });
    };
    if (assignment.op === 'unset') {
      current = unsetVariable(current, assignment.variable);
      return;
    }
    const rendered = renderTemplate(assignment.value, current);
    if (assignment.op === 'increment') {
      const step = coerceValue(rendered === '' ? '1' : rendered, 'number');
      const base = coerceValue(getVariable(current, assignment.variable) ?? 0, 'number');
      if (!step.ok || !base.ok) return report(step.ok ? `current value is not a number` : step.message);
      current = setVariable(current, assignment.variable, Number(base.value) + Number(step.value));
      return;
    }
    const value = coerceValue(rendered, assignment.valueType);
    if (!value.ok) return report(value.message);
    if (assignment.op === 'append') {
      const existing = getVariable(current, assignment.variable);
      const list: JsonValue[] = Array.isArray(existing) ? existing : existing === undefined || existing === null ? [] : [existing];
      current = setVariable(current, assignment.variable, [...list, value.value]);
      return;
    }
    current = setVariable(current, assignment.variable, value.value);
  });
  return { scope: current, problems };
}

