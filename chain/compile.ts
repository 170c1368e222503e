// Graph → IR. Validates everything a published version must satisfy and reports every
// problem at once, each naming the node (or edge), the field and the fix.

import type { z } from 'zod';
import type { CompileError, CompileErrorCode } from './compile-errors.ts';
import { callEntry, cyclicComponents, flowFromIr, reachable, walkWithoutWait, type Flow, type FlowNode } from './compile-flow.ts';
import { graphSchema, type Graph, type GraphEdge, type GraphNode } from './graph.ts';
import { hashIr, IR_FORMAT_VERSION, type ChainIR, type CompiledChain, type IrEdge, type IrNode, type IrVariable } from './ir.ts';
import { canonicalJson, isPlainObject, type JsonValue } from './json.ts';
import { specFor } from './nodes/index.ts';
import { isPluginType } from './nodes/plugin.ts';
import { portsOf, waitsOf, type NodeIssue, type NodeSpec, type Port } from './nodes/spec.ts';
import { entryKey, type StartConfig } from './nodes/start.ts';
import type { SubchainConfig } from './nodes/subchain.ts';
import type { GotoConfig } from './nodes/goto.ts';
import { checkRegex } from './regex.ts';
import { checkRules, ruleVariables, type RuleGroup } from './rules.ts';
import { builtinVariables } from './scope.ts';
import { closest } from './suggest.ts';
import { parseTemplate } from './template.ts';

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

interface CheckedNode {
  node: GraphNode;
  spec: NodeSpec;
  /** Output of `spec.config` for `node.type`: the casts to a type's config below rely on it. */
  config: unknown;
  ports: readonly Port[];
  waits: boolean;
}

class Report {
  readonly errors: CompileError[] = [];
  readonly warnings: CompileError[] = [];

  add(problem: CompileError, severity: 'error' | 'warning' = 'error'): void {
    (severity === 'error' ? this.errors : this.warnings).push(problem);
  }
}

function nodeWhere(node: { id: string; type: string }, field?: string): string {
  return `Node '${node.id}' (${node.type})${field ? `, field '${field}'` : ''}`;
}

function edgeWhere(edge: GraphEdge, field?: string): string {
  return `Edge '${edge.id}' (${edge.source}.${edge.sourcePort} → ${edge.target})${field ? `, field '${field}'` : ''}`;
}

function pathText(path: readonly PropertyKey[]): string {
  return path.map((part) => String(part)).join('.');
}

function issueFix(issue: z.core.$ZodIssue, field: string): string {
  switch (issue.code) {
    case 'invalid_type':
      return `Give '${field}' a value of type ${issue.expected}`;
    case 'invalid_value':
      return `Use one of: ${issue.values.map((value) => JSON.stringify(value)).join(', ')}`;
    case 'unrecognized_keys':
      return `Remove ${issue.keys.map((key) => `'${key}'`).join(', ')}`;
    case 'invalid_union':
      return issue.discriminator !== undefined ? `Pick a valid '${issue.discriminator}'` : `Check '${field}': it matches none of the accepted shapes`;
    case 'too_small':
    case 'too_big':
      return `Adjust '${field}': ${issue.message}`;
    default:
      return `Change '${field}' as described`;
  }
}

/** Better text than zod's for a discriminated union with an unknown tag. */
function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_union' && issue.discriminator !== undefined && 'options' in issue && issue.options) {
    return `'${issue.discriminator}' must be one of: ${issue.options.map((option) => String(option)).join(', ')}`;
  }
  return issue.message;
}

function rawId(input: unknown, list: 'nodes' | 'edges', index: number): string | undefined {
  if (!isPlainObject(input)) return undefined;
  const items = input[list];
  if (!Array.isArray(items)) return undefined;
  const item: unknown = items[index];
  return isPlainObject(item) && typeof item['id'] === 'string' ? item['id'] : undefined;
}

function graphProblems(input: unknown, issues: readonly z.core.$ZodIssue[]): CompileError[] {
  return issues.map((issue) => {
    const [list, index, ...rest] = issue.path;
    if ((list === 'nodes' || list === 'edges') && typeof index === 'number') {
      const id = rawId(input, list, index);
      const field = pathText(rest);
      const what = `${list === 'nodes' ? 'Node' : 'Edge'} ${id !== undefined ? `'${id}'` : `#${index + 1}`}`;
      return {
        code: 'graph_invalid',
        ...(id !== undefined ? (list === 'nodes' ? { nodeId: id } : { edgeId: id }) : {}),
        ...(field ? { field } : {}),
        message: `${what}${field ? `, field '${field}'` : ''}: ${issueMessage(issue)}`,
        fix: issueFix(issue, field || list),
      };
    }
    const field = pathText(issue.path);
    return {
      code: 'graph_invalid',
      ...(field ? { field } : {}),
      message: `Chain${field ? ` field '${field}'` : ''}: ${issueMessage(issue)}`,
      fix: issueFix(issue, field || 'chain'),
    };
  });
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

function normalizeRules(rules: RuleGroup | undefined): RuleGroup | undefined {
  if (!rules || (rules.rules.length === 0 && !rules.not)) return undefined;
  return rules;
}

function toJson(value: unknown): JsonValue {
  // Drops undefined members and orders keys, so the IR text is deterministic.
  return JSON.parse(canonicalJson(value)) as JsonValue;
}

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
  const graph: Graph = parsed.data;
  const report = new Report();
  const languages = [...new Set([graph.defaultLanguage, ...(graph.languages ?? [])])];

  // Declared variables.
  const declared = new Set<string>();
  graph.variables.forEach((variable, i) => {
    if (declared.has(variable.name)) {
      report.add({ code: 'variable_duplicate', field: `variables.${i}.name`, message: `Chain variable '${variable.name}' is declared twice`, fix: 'Remove or rename one of the declarations' });
    }
    declared.add(variable.name);
  });

  // Ids.
  const nodesById = new Map<string, GraphNode>();
  for (const node of graph.nodes) {
    if (nodesById.has(node.id)) {
      report.add({ code: 'node_duplicate_id', nodeId: node.id, message: `Node id '${node.id}' is used by more than one node`, fix: 'Give every node a unique id' });
    } else nodesById.set(node.id, node);
  }
  const edgeIds = new Set<string>();
  for (const edge of graph.edges) {
    if (edgeIds.has(edge.id)) {
      report.add({ code: 'edge_duplicate_id', edgeId: edge.id, message: `Edge id '${edge.id}' is used by more than one edge`, fix: 'Give every edge a unique id' });
    }
    edgeIds.add(edge.id);
  }
  const nodeIds: ReadonlySet<string> = new Set(nodesById.keys());

  // Node types and configs.
  const checked = new Map<string, CheckedNode>();
  for (const node of nodesById.values()) {
    const spec = specFor(node.type);
    if (!spec) {
      const suggestion = closest(node.type, ['start', 'message', 'ask', 'condition', 'switch', 'set', 'delay', 'http', 'llm', 'code', 'subchain', 'split', 'goto', 'end']);
      report.add({
        code: 'node_unknown_type',
        nodeId: node.id,
        message: `${nodeWhere(node)}: unknown node type '${node.type}'`,
        fix: node.type.startsWith('plugin')
          ? "Plugin node types look like 'plugin:<pluginId>/<type>'"
          : suggestion ? `Did you mean '${suggestion}'?` : 'Use a built-in type or an installed plugin type',
      });
      continue;
    }
    if (isPluginType(node.type) && options.plugins && !options.plugins.includes(node.type)) {
      report.add({ code: 'plugin_unknown', nodeId: node.id, message: `${nodeWhere(node)}: no installed plugin provides this node type`, fix: 'Install the plugin, or replace the node' });
    }
    const result = spec.config.safeParse(node.data);
    if (!result.success) {
      for (const issue of result.error.issues) {
        const field = pathText(issue.path);
        report.add({ code: 'config_invalid', nodeId: node.id, ...(field ? { field } : {}), message: `${nodeWhere(node, field)}: ${issueMessage(issue)}`, fix: issueFix(issue, field || 'data') });
      }
      continue;
    }
    const config: unknown = result.data;
    checked.set(node.id, { node, spec, config, ports: portsOf(spec, config), waits: waitsOf(spec, config) });
  }

  // Node-specific checks, patterns and rules.
  for (const { node, spec, config } of checked.values()) {
    const issues: NodeIssue[] = spec.compileChecks ? spec.compileChecks(config, { nodeIds, languages }) : [];
    for (const issue of issues) {
      report.add(
        { code: issue.code, nodeId: node.id, ...(issue.field ? { field: issue.field } : {}), message: `${nodeWhere(node, issue.field)}: ${issue.message}`, fix: issue.fix },
        issue.severity ?? 'error',
      );
    }
    for (const regex of spec.regexes?.(config) ?? []) {
      const check = checkRegex(regex.pattern);
      if (!check.ok) {
        report.add({ code: 'regex_invalid', nodeId: node.id, field: regex.field, message: `${nodeWhere(node, regex.field)}: pattern '${regex.pattern}' is invalid: ${check.message}`, fix: 'Write an RE2 pattern (no lookarounds or backreferences)' });
      }
    }
    for (const ref of spec.rules?.(config) ?? []) {
      for (const problem of checkRules(ref.rules)) {
        const field = `${ref.field}.${problem.path}`;
        report.add({ code: problem.code, nodeId: node.id, field, message: `${nodeWhere(node, field)}: ${problem.message}`, fix: problem.fix });
      }
    }
  }

  // Edges.
  const edgesByPort = new Map<string, GraphEdge[]>();
  const validEdges: GraphEdge[] = [];
  for (const edge of graph.edges) {
    let valid = true;
    if (!nodesById.has(edge.source)) {
      valid = false;
      report.add({ code: 'edge_unknown_source', edgeId: edge.id, message: `${edgeWhere(edge)}: source node '${edge.source}' does not exist`, fix: 'Reconnect the edge or delete it' });
    }
    if (!nodesById.has(edge.target)) {
      valid = false;
      report.add({ code: 'edge_unknown_target', edgeId: edge.id, message: `${edgeWhere(edge)}: target node '${edge.target}' does not exist`, fix: 'Reconnect the edge to an existing node or delete it' });
    }
    const source = checked.get(edge.source);
    if (source && !source.ports.some((port) => port.id === edge.sourcePort)) {
      valid = false;
      const ports = source.ports.map((port) => `'${port.id}'`).join(', ');
      report.add({
        code: 'port_unknown',
        edgeId: edge.id,
        nodeId: edge.source,
        message: `${edgeWhere(edge)}: ${nodeWhere(source.node)} has no output port '${edge.sourcePort}'`,
        fix: ports
          ? `Connect from one of ${ports}${source.node.type === 'ask' && edge.sourcePort === 'timeout' ? ", or set a timeout on the ask node" : ''}`
          : `A ${source.node.type} node has no outputs; delete the edge`,
      });
    }
    if (edge.rules) {
      for (const problem of checkRules(edge.rules)) {
        const field = `rules.${problem.path}`;
        report.add({ code: problem.code, edgeId: edge.id, field, message: `${edgeWhere(edge, field)}: ${problem.message}`, fix: problem.fix });
      }
    }
    if (!valid) continue;
    validEdges.push(edge);
    const key = `${edge.source}\u0000${edge.sourcePort}`;
    const list = edgesByPort.get(key) ?? [];
    list.push(edge);
    edgesByPort.set(key, list);
  }
  for (const list of edgesByPort.values()) list.sort((a, b) => (a.priority ?? 0) - (b.priority ?? 0)); // stable: ties keep graph order
  const edgesOf = (nodeId: string, port: string): GraphEdge[] => edgesByPort.get(`${nodeId}\u0000${port}`) ?? [];

  for (const { node, ports } of checked.values()) {
    for (const port of ports) {
      const edges = edgesOf(node.id, port.id);
      if (port.required && edges.length === 0) {
        report.add({ code: 'port_unconnected', nodeId: node.id, message: `${nodeWhere(node)}: output '${port.id}' is not connected`, fix: `Draw an edge from '${port.id}' to the node that should run next` });
      }
      const unconditional = edges.findIndex((edge) => normalizeRules(edge.rules) === undefined);
      for (const shadowed of unconditional >= 0 ? edges.slice(unconditional + 1) : []) {
        report.add(
          { code: 'edge_shadowed', edgeId: shadowed.id, nodeId: node.id, message: `${edgeWhere(shadowed)}: can never be taken, edge '${edges[unconditional]?.id}' before it always matches`, fix: 'Give the unconditional edge a higher priority number (so it is tried last) or add rules to it' },
          'warning',
        );
      }
    }
  }

  // Start nodes and entries.
  const entries: Record<string, string> = {};
  const starts = [...checked.values()].filter((item) => item.node.type === 'start');
  if (![...nodesById.values()].some((node) => node.type === 'start')) {
    report.add({ code: 'start_missing', message: 'The chain has no start node, so nothing can start a session', fix: 'Add a start node with a trigger (a command like /start, any message, a schedule, a webhook or the API)' });
  }
  for (const start of starts) {
    const key = entryKey((start.config as StartConfig).trigger, start.node.id);
    const existing = entries[key];
    if (existing !== undefined) {
      report.add({ code: 'trigger_duplicate', nodeId: start.node.id, field: 'trigger', message: `${nodeWhere(start.node, 'trigger')}: start node '${existing}' already has the trigger '${key}'`, fix: 'Keep one start node per trigger; connect both paths to it instead' });
    } else entries[key] = start.node.id;
  }

  // Sub-chains: resolve callees.
  const subchains = options.subchains;
  const resolve = (ref: string): ChainIR | 'self' | undefined => {
    if (ref === graph.slug) return 'self';
    const found = subchains && Object.hasOwn(subchains, ref) ? subchains[ref] : undefined;
    if (!found) return undefined;
    const ir = 'ir' in found ? found.ir : found;
    return ir.slug === graph.slug ? 'self' : ir;
  };
  const versionOf = (ref: string): string | undefined => {
    const found = subchains && Object.hasOwn(subchains, ref) ? subchains[ref] : undefined;
    return found && 'ir' in found ? found.versionId : undefined;
  };
  const flows = new Map<string, Flow>();
  const flowOf = (ir: ChainIR): Flow => {
    let flow = flows.get(ir.slug);
    if (!flow) {
      flow = flowFromIr(ir);
      flows.set(ir.slug, flow);
    }
    return flow;
  };
  // Whether every path through a callee waits before it returns (unknown callees: assumed).
  const alwaysWaitsMemo = new Map<string, boolean>();
  const alwaysWaits = (ref: string, visiting: Set<string>): boolean => {
    const callee = resolve(ref);
    if (callee === undefined || callee === 'self') return true;
    const memo = alwaysWaitsMemo.get(callee.slug);
    if (memo !== undefined) return memo;
    if (visiting.has(callee.slug)) return true; // recursion is reported separately
    visiting.add(callee.slug);
    const entry = callEntry(callee);
    const result = entry === undefined || !walkWithoutWait(flowOf(callee), [entry], (call) => !alwaysWaits(call.calls ?? '', visiting)).exits;
    visiting.delete(callee.slug);
    alwaysWaitsMemo.set(callee.slug, result);
    return result;
  };

  for (const { node, config } of checked.values()) {
    if (node.type !== 'subchain' || !subchains) continue;
    const ref = (config as SubchainConfig).chainRef;
    const callee = resolve(ref);
    if (callee === undefined) {
      report.add({ code: 'subchain_unknown', nodeId: node.id, field: 'chainRef', message: `${nodeWhere(node, 'chainRef')}: no published chain '${ref}'`, fix: 'Pick an existing chain (publish it first)' });
    } else if (callee !== 'self' && callEntry(callee) === undefined) {
      report.add({ code: 'subchain_no_entry', nodeId: node.id, field: 'chainRef', message: `${nodeWhere(node, 'chainRef')}: chain '${callee.slug}' has no 'api' or 'any' start node to enter`, fix: `Add a start node with the 'api' trigger to '${callee.slug}'` });
    }
  }

  // The flow of this graph.
  const flow: Flow = new Map();
  for (const node of nodesById.values()) {
    const item = checked.get(node.id);
    const next: string[] = [];
    const goto = item && node.type === 'goto' ? (item.config as GotoConfig).target : undefined;
    if (goto !== undefined && nodesById.has(goto)) next.push(goto);
    const ports = item?.ports ?? [];
    const openPort = ports.some((port) => !['error', 'invalid', 'timeout'].includes(port.id) && !edgesOf(node.id, port.id).some((edge) => normalizeRules(edge.rules) === undefined));
    const calls = item && node.type === 'subchain' ? (item.config as SubchainConfig).chainRef : undefined;
    flow.set(node.id, {
      id: node.id,
      type: node.type,
      // Invalid nodes count as waiting so that their errors are not echoed as loop errors.
      waits: item ? item.waits || (calls !== undefined && alwaysWaits(calls, new Set())) : true,
      successors: next,
      mayExit: node.type === 'end' || openPort,
      ...(calls !== undefined ? { calls } : {}),
    });
  }
  for (const edge of validEdges) flow.get(edge.source)?.successors.push(edge.target);

  // Reachability.
  const startIds = [...nodesById.values()].filter((node) => node.type === 'start').map((node) => node.id);
  if (startIds.length > 0) {
    const reached = reachable(flow, startIds);
    for (const node of nodesById.values()) {
      if (!reached.has(node.id)) {
        report.add({ code: 'node_unreachable', nodeId: node.id, message: `${nodeWhere(node)}: no path from a start node reaches it`, fix: 'Connect it, or delete it' }, 'warning');
      }
    }
  }

  // Loops that never wait.
  for (const component of cyclicComponents(flow, (node) => !node.waits)) {
    const ordered = graph.nodes.map((node) => node.id).filter((id) => component.includes(id));
    const first = ordered[0] ?? component[0] ?? '';
    const shown = ordered.slice(0, 10).join(' → ') + (ordered.length > 10 ? ' → …' : '');
    report.add({
      code: 'cycle_without_wait',
      nodeId: first,
      message: `Nodes ${shown} form a loop with no ask or delay, which would run forever without waiting`,
      fix: 'Put an ask or delay node in the loop, or give the loop an exit that is always taken eventually',
    });
  }

  // Sub-chain recursion without a wait: this chain → … → this chain. Calls to itself
  // are caught even without options.subchains; longer cycles need the callees' IRs.
  {
    const callsOf = (ir: ChainIR): FlowNode[] => {
      const entry = callEntry(ir);
      return entry === undefined ? [] : walkWithoutWait(flowOf(ir), [entry], (call) => !alwaysWaits(call.calls ?? '', new Set())).calls;
    };
    const pathBack = (ref: string, trail: string[], seen: Set<string>): string[] | undefined => {
      const callee = resolve(ref);
      if (callee === 'self') return [...trail, graph.slug];
      if (callee === undefined || seen.has(callee.slug)) return undefined;
      seen.add(callee.slug);
      for (const call of callsOf(callee)) {
        const found = pathBack(call.calls ?? '', [...trail, callee.slug], seen);
        if (found) return found;
      }
      return undefined;
    };
    const localFlow: Flow = new Map([...flow].map(([id, node]) => [id, node.calls !== undefined ? { ...node, waits: checked.get(id)?.waits ?? true } : node]));
    const { calls } = walkWithoutWait(localFlow, startIds, (call) => !alwaysWaits(call.calls ?? '', new Set()));
    for (const call of calls) {
      const path = pathBack(call.calls ?? '', [graph.slug], new Set());
      if (path) {
        report.add({
          code: 'subchain_recursion',
          nodeId: call.id,
          field: 'chainRef',
          message: `${nodeWhere(call, 'chainRef')}: chains call each other without waiting: ${path.join(' → ')}`,
          fix: 'Put an ask or delay before the call, or break the cycle of calls',
        });
      }
    }
  }

  // Templates and variables.
  const writers = [...checked.values()].flatMap(({ spec, config }) => (spec.writes?.(config) ?? []).map((write) => write.variable));
  const known = knownSet([...builtinVariables, ...declared, ...(options.knownVariables ?? []), ...writers]);
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

  if (report.errors.length > 0) return { ok: false, errors: report.errors, warnings: report.warnings };

  // The IR.
  const nodes: Record<string, IrNode> = {};
  for (const id of [...checked.keys()].sort()) {
    const item = checked.get(id);
    if (!item) continue;
    let config = item.spec.normalize ? item.spec.normalize(item.config) : item.config;
    if (item.node.type === 'subchain') {
      const subchain = config as SubchainConfig;
      const versionId = subchain.versionId ?? versionOf(subchain.chainRef);
      config = versionId !== undefined ? { ...subchain, versionId } : subchain;
    }
    const next: Record<string, IrEdge[]> = {};
    for (const port of item.ports) {
      next[port.id] = edgesOf(id, port.id).map((edge) => {
        const rules = normalizeRules(edge.rules);
        return rules ? { id: edge.id, target: edge.target, rules } : { id: edge.id, target: edge.target };
      });
    }
    // The config was validated by the node's own schema above; toJson only reorders keys.
    nodes[id] = toJson({ id, type: item.node.type, config, next }) as unknown as IrNode;
  }
  const variables: IrVariable[] = [...graph.variables]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((variable) => (variable.default !== undefined ? { name: variable.name, type: variable.type, default: variable.default as JsonValue } : { name: variable.name, type: variable.type }));
  const sortedEntries: Record<string, string> = {};
  for (const key of Object.keys(entries).sort()) sortedEntries[key] = entries[key] ?? '';
  const content: Omit<ChainIR, 'hash'> = {
    formatVersion: IR_FORMAT_VERSION,
    slug: graph.slug,
    defaultLanguage: graph.defaultLanguage,
    languages,
    variables,
    entries: sortedEntries,
    nodes,
  };
  const ir: ChainIR = { ...content, hash: hashIr(content) };
  return { ok: true, ir, warnings: report.warnings };
}

export type { CompileError, CompileErrorCode };
