// The variables a chain can read, for the rule builder's field picker and the template
// variable picker: built in (message fields first), declared, and written by nodes.

import { builtinVariables, specFor, type Graph, type VariableType } from '../../../../chain/index.ts';

export interface VariableEntry {
  name: string;
  /** Declared type; built-in and written variables have none (any operator fits). */
  type?: VariableType;
  source: 'builtin' | 'declared' | 'written';
  description?: string;
}

/** Every variable the chain may read, message fields first, each name once. */
export function variableCatalog(graph: Graph | null): VariableEntry[] {
  const entries = new Map<string, VariableEntry>();
  for (const name of builtinVariables) entries.set(name, { name, source: 'builtin', ...(name === 'message.date' ? { type: 'number' as const } : {}) });
  for (const declared of graph?.variables ?? []) {
    entries.set(declared.name, { name: declared.name, type: declared.type, source: 'declared', ...(declared.description ? { description: declared.description } : {}) });
  }
  for (const node of graph?.nodes ?? []) {
    const spec = specFor(node.type);
    const parsed = spec?.config.safeParse(node.data);
    if (!spec?.writes || !parsed?.success) continue;
    for (const write of spec.writes(parsed.data)) if (!entries.has(write.variable)) entries.set(write.variable, { name: write.variable, source: 'written' });
  }
  return [...entries.values()];
}
