// Reading graphs and IRs back from storage. The `chain.draft_graph`, `chain_version.graph`
// and `chain_version.ir` columns hold what Chainflow wrote, so a value that does not
// decode is a fault in our data, never in the request that happened to read it: these
// accessors throw StoredChainError (the API answers 500 naming the chain and logs it)
// instead of a ZodError that would read as the caller's mistake.

import { graphSchema, type Graph } from './graph.ts';
import { IR_FORMAT_VERSION, type ChainIR } from './ir.ts';

/** The column a stored value came from. */
export type StoredColumn = 'chain.draft_graph' | 'chain_version.graph' | 'chain_version.ir';

/**
 * A stored graph or IR that is not what Chainflow writes. The message names the chain
 * (and version) and the first problem; `problems` lists them all, for the log.
 */
export class StoredChainError extends Error {
  override name = 'StoredChainError';
  readonly chainId: string;
  readonly versionId: string | null;
  readonly column: StoredColumn;
  readonly problems: string[];
  constructor(where: { chainId: string; versionId: string | null; column: StoredColumn; label: string }, problems: string[]) {
    super(`${where.label}: the stored ${where.column} is not valid (${problems[0] ?? 'unreadable'}); restore the row from a backup.`);
    this.chainId = where.chainId;
    this.versionId = where.versionId;
    this.column = where.column;
    this.problems = problems;
  }
}

/** A chain row as far as its draft goes. */
export interface StoredDraft {
  id: string;
  slug: string;
  draftGraph: unknown;
}

/** A chain version row as far as its graph or IR goes. */
export interface StoredVersion {
  id: string;
  chainId: string;
  number?: number | null;
}

const versionLabel = (v: StoredVersion) => `Chain ${v.chainId} ${typeof v.number === 'number' ? `version ${v.number}` : 'draft version'} ${v.id}`;

function parseGraph(value: unknown, where: ConstructorParameters<typeof StoredChainError>[0]): Graph {
  const parsed = graphSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new StoredChainError(
    where,
    parsed.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`),
  );
}

/**
 * A chain's draft graph, validated.
 *
 * @example const graph = draftGraphOf(chain); // StoredChainError when the row is corrupt
 */
export function draftGraphOf(chain: StoredDraft): Graph {
  return parseGraph(chain.draftGraph, { chainId: chain.id, versionId: null, column: 'chain.draft_graph', label: `Chain "${chain.slug}" (${chain.id})` });
}

/** The graph a version was compiled from, validated. */
export function versionGraphOf(version: StoredVersion & { graph: unknown }): Graph {
  return parseGraph(version.graph, { chainId: version.chainId, versionId: version.id, column: 'chain_version.graph', label: versionLabel(version) });
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** What keeps `value` from being an IR the interpreter can run ([] when nothing). */
function irProblems(value: unknown): string[] {
  if (!isObject(value)) return ['(root): expected an object'];
  const problems: string[] = [];
  if (value['formatVersion'] !== IR_FORMAT_VERSION) problems.push(`formatVersion: expected ${IR_FORMAT_VERSION}`);
  for (const field of ['hash', 'slug', 'defaultLanguage']) if (typeof value[field] !== 'string') problems.push(`${field}: expected a string`);
  for (const field of ['languages', 'variables']) if (!Array.isArray(value[field])) problems.push(`${field}: expected an array`);
  const entries = value['entries'];
  if (!isObject(entries)) problems.push('entries: expected an object');
  else for (const [key, target] of Object.entries(entries)) if (typeof target !== 'string') problems.push(`entries.${key}: expected a node id`);
  const nodes = value['nodes'];
  if (!isObject(nodes)) return [...problems, 'nodes: expected an object'];
  for (const [id, node] of Object.entries(nodes)) {
    if (!isObject(node)) problems.push(`nodes.${id}: expected an object`);
    else {
      if (node['id'] !== id) problems.push(`nodes.${id}.id: expected "${id}"`);
      if (typeof node['type'] !== 'string') problems.push(`nodes.${id}.type: expected a string`);
      if (!isObject(node['config'])) problems.push(`nodes.${id}.config: expected an object`);
      const next = node['next'];
      if (!isObject(next) || !Object.values(next).every(Array.isArray)) problems.push(`nodes.${id}.next: expected edge lists by port`);
    }
  }
  return problems;
}

/**
 * A version's IR, checked for the shape the interpreter relies on (the compiler made
 * it, so this guards against rows changed behind Chainflow's back, not against its own
 * output: the node configs are not re-validated).
 */
export function versionIrOf(version: StoredVersion & { ir: unknown }): ChainIR {
  const problems = irProblems(version.ir);
  if (problems.length) throw new StoredChainError({ chainId: version.chainId, versionId: version.id, column: 'chain_version.ir', label: versionLabel(version) }, problems);
  return version.ir as ChainIR;
}
