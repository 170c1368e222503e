import { z } from 'zod';
import { variableTypes } from '../scope.ts';
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
