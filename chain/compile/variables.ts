// Phase: variables. Declarations, and every variable that templates and rules read:
// known, or a clear error (warning for scopes another chain may fill).

import type { Graph, GraphEdge } from '../graph.ts';
import { ruleVariables } from '../rules.ts';
import { builtinVariables } from '../scope.ts';
import { closest } from '../suggest.ts';
import { parseTemplate, type ParsedTemplate } from '../template.ts';
import type { CheckedNode } from './nodes.ts';
import { edgeWhere, nodeWhere, type Report } from './report.ts';

/** The chain's declared variables; reports names declared twice. */
export function declaredVariables(graph: Graph, report: Report): Set<string> {
  const declared = new Set<string>();
  graph.variables.forEach((variable, i) => {
    if (declared.has(variable.name)) {
      report.add({ code: 'variable_duplicate', field: `variables.${i}.name`, message: `Chain variable '${variable.name}' is declared twice`, fix: 'Remove or rename one of the declarations' });
    }
    declared.add(variable.name);
  });
  return declared;
}

/** Names of known variables plus every prefix of them (`session.order.id` → `session.order`). */
function knownSet(names: Iterable<string>): Set<string> {
  const known = new Set<string>();
  for (const name of names) {
    const segments = name.split('.');
    for (let i = 2; i <= segments.length; i++) known.add(segments.slice(0, i).join('.'));
  }
  return known;
}

function isKnown(path: string, known: Set<string>): boolean {
  const segments = path.split('.');
  if (segments[0] === 'run') return true;
  for (let i = 2; i <= segments.length; i++) if (known.has(segments.slice(0, i).join('.'))) return true;
  return false;
}

/** What the variable checks know besides the graph. */
export interface VariableContext {
  declared: ReadonlySet<string>;
  /** Extra variables known to exist (compile option `knownVariables`). */
  knownVariables: readonly string[];
}

/**
 * Checks the templates and rules of every valid node and edge: parseable templates,
 * known variables (declared, built in, or written by some node), `secrets.*` only where
 * an activity renders the text.
 */
export function checkVariables(checked: ReadonlyMap<string, CheckedNode>, validEdges: readonly GraphEdge[], context: VariableContext, report: Report): void {
  const writers = [...checked.values()].flatMap(({ spec, config }) => (spec.writes?.(config) ?? []).map((write) => write.variable));
  const known = knownSet([...builtinVariables, ...context.declared, ...context.knownVariables, ...writers]);
  const knownList = [...known];
  const checkVariable = (variable: string, where: string, ids: { nodeId?: string; edgeId?: string }, field: string, secretsAllowed: boolean): void => {
    const scope = variable.split('.')[0];
    if (scope === 'secrets') {
      if (!secretsAllowed) {
        report.add({ ...ids, code: 'secret_not_allowed', field, message: `${where}: uses '${variable}', but secrets are only available in HTTP request URL, query, headers and body`, fix: 'Move the secret into an HTTP request, or use a credential' });
      }
      return;
    }
    if (isKnown(variable, known)) return;
    const suggestion = closest(variable, knownList.filter((name) => name.startsWith(`${scope}.`)));
    const persistent = scope === 'user' || scope === 'chat' || scope === 'bot';
    report.add(
      {
        ...ids,
        code: 'variable_unknown',
        field,
        message: `${where}: unknown variable '${variable}'${persistent ? ' (another chain may set it; it renders empty until then)' : ''}`,
        fix: `${suggestion ? `Did you mean '${suggestion}'? Otherwise d` : 'D'}eclare it in the chain's variables, or set it earlier (ask, set, HTTP, LLM, code, sub-chain output)`,
      },
      persistent ? 'warning' : 'error',
    );
  };
  for (const { node, spec, config } of checked.values()) {
    for (const ref of spec.templates?.(config) ?? []) {
      const template = parseTemplate(ref.text);
      for (const problem of template.problems) {
        report.add({ code: 'template_invalid', nodeId: node.id, field: ref.field, message: `${nodeWhere(node, ref.field)}: ${problem.message}`, fix: "Fix the {{ … }} expression, or write \\{{ for a literal '{{'" });
      }
      for (const variable of template.variables) checkVariable(variable, nodeWhere(node, ref.field), { nodeId: node.id }, ref.field, ref.secrets ?? false);
      if (ref.secrets) checkSecretTransforms(template, nodeWhere(node, ref.field), node.id, ref.field, report);
    }
    for (const ref of spec.rules?.(config) ?? []) {
      for (const read of ruleVariables(ref.rules)) {
        const field = `${ref.field}.${read.path}`;
        checkVariable(read.variable, nodeWhere(node, field), { nodeId: node.id }, field, false);
      }
    }
  }
  for (const edge of validEdges) {
    for (const read of edge.rules ? ruleVariables(edge.rules) : []) {
      const field = `rules.${read.path}`;
      checkVariable(read.variable, edgeWhere(edge, field), { edgeId: edge.id }, field, false);
    }
  }
}

/**
 * A secret may only be inserted as it is: `{{ secrets.K | upper }}` (or a secret as a
 * filter argument) would produce a form of the value that redaction cannot recognise, so
 * it could reach session.error, run events and history.
 */
function checkSecretTransforms(template: ParsedTemplate, where: string, nodeId: string, field: string, report: Report): void {
  for (const part of template.parts) {
    if (part.kind !== 'expr') continue;
    const { operand, filters } = part.expr;
    const secretOperand = operand.kind === 'path' && operand.path.split('.')[0] === 'secrets';
    const secretArg = filters.flatMap((filter) => filter.args).find((arg) => arg.kind === 'path' && arg.path.split('.')[0] === 'secrets');
    if (secretOperand && filters.length > 0) {
      report.add({
        code: 'secret_transformed',
        nodeId,
        field,
        message: `${where}: ${part.source} applies '${filters.map((filter) => filter.name).join(' | ')}' to a secret; secrets are inserted only as they are`,
        fix: `Write {{ ${operand.path} }} without filters, and store the value in the form the API needs`,
      });
    } else if (secretArg?.kind === 'path') {
      report.add({
        code: 'secret_transformed',
        nodeId,
        field,
        message: `${where}: ${part.source} passes '${secretArg.path}' to a filter; secrets are inserted only as they are`,
        fix: `Insert {{ ${secretArg.path} }} on its own`,
      });
    }
  }
}

