// Graph → IR. Validates everything a published version must satisfy and reports every
// problem at once, each naming the node (or edge), the field and the fix. The phases
// run in a fixed order (the order of the problems depends on it), all adding to one
// report: issues → nodes → edges → sub-chains → paths → variables → emit.

import type { CompileError, CompileErrorCode } from '../compile-errors.ts';
import { graphSchema } from '../graph.ts';
import type { ChainIR, CompiledChain } from '../ir.ts';
import { checkEdgeIds, checkEdges, checkPorts } from './edges.ts';
import { emitIr } from './emit.ts';
import { graphProblems } from './issues.ts';
import { checkNodeConfigs, checkNodeRules, checkStarts, nodesById } from './nodes.ts';
import { checkLoops, checkReachable, graphFlow } from './paths.ts';
import { Report } from './report.ts';
import { Callees, checkCallees, checkRecursion } from './subchains.ts';
import { checkVariables, declaredVariables } from './variables.ts';

export interface CompileOptions {
  /**
   * Compiled chains that sub-chain nodes may call, keyed by the `chainRef` they use (id
   * and/or slug). When given, unknown references are errors and recursion without a
   * wait is detected across chains; when absent, sub-chain calls are not checked.
   */
  subchains?: Record<string, CompiledChain | ChainIR>;
  /** Extra variables known to exist (e.g. bot settings `bot.*` or shared `user.*`). */
  knownVariables?: readonly string[];
  /** Installed plugin node types (`plugin:<id>/<type>`); when given, others are errors. */
  plugins?: readonly string[];
}

export type CompileResult =
  | { ok: true; ir: ChainIR; warnings: CompileError[] }
  | { ok: false; errors: CompileError[]; warnings: CompileError[] };

/**
 * Compiles a graph (as saved by the editor, or parsed from YAML/JSON) into the IR.
 *
 * @example
 * const result = compileChain(graph, { knownVariables: ['bot.support_chat'] });
 * if (!result.ok) for (const e of result.errors) console.log(`${e.message} — ${e.fix}`);
 */
export function compileChain(input: unknown, options: CompileOptions = {}): CompileResult {
  const parsed = graphSchema.safeParse(input);
  if (!parsed.success) return { ok: false, errors: graphProblems(input, parsed.error.issues), warnings: [] };
  const graph = parsed.data;
  const report = new Report();
  const languages = [...new Set([graph.defaultLanguage, ...(graph.languages ?? [])])];

  const declared = declaredVariables(graph, report);
  const nodes = nodesById(graph, report);
  checkEdgeIds(graph, report);
  const checked = checkNodeConfigs(nodes.values(), options.plugins, report);
  checkNodeRules(checked, new Set(nodes.keys()), languages, report);

  const edges = checkEdges(graph, nodes, checked, report);
  checkPorts(checked, edges, report);
  const { entries, startIds } = checkStarts(nodes.values(), checked, report);

  const callees = new Callees(graph.slug, options.subchains);
  checkCallees(checked, callees, report);
  const flow = graphFlow(nodes.values(), checked, edges.valid, (ref) => callees.alwaysWaits(ref));
  checkReachable(nodes.values(), flow, startIds, report);
  checkLoops(graph, flow, report);
  checkRecursion(flow, checked, startIds, callees, report);

  checkVariables(checked, edges.valid, { declared, knownVariables: options.knownVariables ?? [] }, report);

  if (report.errors.length > 0) return { ok: false, errors: report.errors, warnings: report.warnings };
  return { ok: true, ir: emitIr({ graph, languages, checked, edges, entries, callees }), warnings: report.warnings };
}

export type { CompileError, CompileErrorCode };
