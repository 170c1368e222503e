import { z } from 'zod';
import type { JsonValue } from '../json.ts';
import { coerceValue, getVariable, setVariable, unsetVariable, variableTypes, type Scope } from '../scope.ts';
import { renderTemplate } from '../template.ts';
import { field, templateSchema, writableVariableSchema } from './common.ts';
import { defineNode, l } from './spec.ts';

export const assignmentSchema = z.object({
  variable: field(writableVariableSchema, l('Variable', 'Переменная'), undefined, 'variable'),
  op: field(
    z.enum(['set', 'increment', 'append', 'unset']).default('set'),
    l('Operation', 'Действие'),
    l('set: assign the value; increment: add a number (default 1); append: add to a list; unset: delete', 'set: присвоить; increment: прибавить число (по умолчанию 1); append: добавить в список; unset: удалить'),
    'select',
  ),
  value: field(templateSchema.default(''), l('Value', 'Значение'), l('Template, converted to the value type', 'Шаблон, приводится к типу значения'), 'template'),
  valueType: field(z.enum(variableTypes).default('string'), l('Value type', 'Тип значения'), undefined, 'select'),
});
export type Assignment = z.infer<typeof assignmentSchema>;

export const setConfigSchema = z.object({
  assignments: field(z.array(assignmentSchema).min(1).max(50), l('Assignments', 'Присваивания'), l('Applied top to bottom; later ones see earlier results', 'Выполняются сверху вниз; следующие видят результат предыдущих')),
});
export type SetConfig = z.infer<typeof setConfigSchema>;

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

export const setNode = defineNode({
  type: 'set',
  category: 'data',
  icon: 'variable',
  label: l('Set variables', 'Задать переменные'),
  help: l('Assigns, increments, appends to or deletes variables.', 'Присваивает, увеличивает, дополняет или удаляет переменные.'),
  config: setConfigSchema,
  defaults: { assignments: [{ variable: 'session.counter', op: 'increment', value: '1', valueType: 'number' }] },
  ports: [{ id: 'next', required: false, label: l('Next', 'Далее') }],
  writes: (config) => config.assignments.map((assignment, i) => ({ field: `assignments.${i}.variable`, variable: assignment.variable })),
  templates: (config) => config.assignments.map((assignment, i) => ({ field: `assignments.${i}.value`, text: assignment.value })),
});
