// Phase: nodes. Unique ids, known types, valid configs, each type's own checks, the
// start nodes' entries.

import type { Graph, GraphNode } from '../graph.ts';
import { nodeTypes, specFor } from '../nodes/index.ts';
import { isPluginType } from '../nodes/plugin.ts';
import { portsOf, waitsOf, type NodeIssue, type NodeSpec, type Port } from '../nodes/spec.ts';
import { checkRegex } from '../regex.ts';
import { checkRules } from '../rules.ts';
import { closest } from '../suggest.ts';
import { issueFix, issueMessage, pathText } from './issues.ts';
import { nodeWhere, type Report } from './report.ts';

/** A node of a known type whose config is valid. */
export interface CheckedNode {
  node: GraphNode;
  spec: NodeSpec;
  /** Output of `spec.config` for `node.type`: what the spec's facts take. */
  config: unknown;
  ports: readonly Port[];
  waits: boolean;
}

/** Nodes by id (the first of a duplicated id); reports duplicates. */
export function nodesById(graph: Graph, report: Report): Map<string, GraphNode> {
  const byId = new Map<string, GraphNode>();
  for (const node of graph.nodes) {
    if (byId.has(node.id)) {
      report.add({ code: 'node_duplicate_id', nodeId: node.id, message: `Node id '${node.id}' is used by more than one node`, fix: 'Give every node a unique id' });
    } else byId.set(node.id, node);
  }
  return byId;
}

/**
 * Checks each node's type and config (parsed by its spec's schema); returns the nodes
 * that passed. `plugins`, when given, lists the installed plugin node types.
 */
export function checkNodeConfigs(nodes: Iterable<GraphNode>, plugins: readonly string[] | undefined, report: Report): Map<string, CheckedNode> {
  const checked = new Map<string, CheckedNode>();
  for (const node of nodes) {
    const spec = specFor(node.type);
    if (!spec) {
      const suggestion = closest(node.type, nodeTypes);
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
    if (isPluginType(node.type) && plugins && !plugins.includes(node.type)) {
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
  return checked;
}

/** Each node type's own checks, and the patterns and rules its config holds. */
export function checkNodeRules(checked: Map<string, CheckedNode>, nodeIds: ReadonlySet<string>, languages: readonly string[], report: Report): void {
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
}

/** Where sessions start: entries by trigger key, and every start node's id (valid or not). */
export interface Starts {
  entries: Record<string, string>;
  startIds: string[];
}

/** The start nodes (types whose spec declares an `entry`): one per trigger, at least one. */
export function checkStarts(nodes: Iterable<GraphNode>, checked: Map<string, CheckedNode>, report: Report): Starts {
  const startIds = [...nodes].filter((node) => specFor(node.type)?.entry !== undefined).map((node) => node.id);
  if (startIds.length === 0) {
    report.add({ code: 'start_missing', message: 'The chain has no start node, so nothing can start a session', fix: 'Add a start node with a trigger (a command like /start, any message, a schedule, a webhook or the API)' });
  }
  const entries: Record<string, string> = {};
  for (const { node, spec, config } of checked.values()) {
    const keys = spec.entry?.(config, node.id);
    if (keys === undefined) continue;
    for (const key of typeof keys === 'string' ? [keys] : keys) {
      const existing = entries[key];
      if (existing !== undefined) {
        report.add({ code: 'trigger_duplicate', nodeId: node.id, field: 'trigger', message: `${nodeWhere(node, 'trigger')}: start node '${existing}' already has the trigger '${key}'`, fix: 'Keep one start node per trigger; connect both paths to it instead' });
      } else entries[key] = node.id;
    }
  }
  return { entries, startIds };
}
