import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { parseDocument, YAMLError } from 'yaml';
import {
  compileChain,
  draftGraphOf,
  graphSchema,
  versionIrOf,
  type ChainIR,
  type CompileError,
  type CompiledChain,
  type Graph,
} from '../../chain/index.ts';
import { ChainSchema, ChainVersionSchema, type Chain, type ChainVersion } from '../../db/entities.ts';
import { HttpError } from '../errors.ts';
import type { Principal } from '../auth/principal.ts';
import { can } from '../policy.ts';
import { accessProblems, stampVersion, type ChainProblem } from './compile-access.ts';
import { processPlugins } from '../../lib/plugins/process.ts';
import { processPluginState } from '../../lib/plugins/state.ts';
import { parsePluginType } from '../../chain/nodes/plugin.ts';

/** The installed plugin node types, when this process has a plugin registry (compileChain's `plugins`). */
function pluginOptions(): { plugins?: string[] } {
  const registry = processPlugins();
  return registry ? { plugins: registry.installedTypes() } : {};
}

/**
 * The compiler calls a node type of a loaded but disabled plugin unknown (only enabled
 * plugins' types are installed): say `plugin_disabled`, with the reason, instead.
 */
function disabledPluginErrors<E extends ChainProblem>(graph: Graph, errors: E[]): (E | ChainProblem)[] {
  const registry = processPlugins();
  const state = processPluginState();
  if (!registry) return errors;
  return errors.map((error) => {
    if (error.code !== 'plugin_unknown' || !error.nodeId) return error;
    const node = graph.nodes.find((n) => n.id === error.nodeId);
    const parsed = node ? parsePluginType(node.type) : undefined;
    const manifest = parsed ? registry.get(parsed.pluginId)?.manifest : undefined;
    if (!node || !parsed || !manifest?.nodes.some((n) => n.type === node.type)) return error;
    const policy = state?.policy(parsed.pluginId);
    const reason = policy && !policy.runs ? policy.message : `Plugin "${parsed.pluginId}" is disabled.`;
    return { ...error, code: 'plugin_disabled' as const, message: `Node '${node.id}' (${node.type}): ${reason}`, fix: 'Ask an admin to enable the plugin (Plugins), or replace the node' };
  });
}

/** Checks plugin nodes' configs against their plugins' zod schemas (in the plugin's thread), like built-ins at publish. */
async function pluginConfigProblems(graph: Graph): Promise<ChainProblem[]> {
  const registry = processPlugins();
  if (!registry) return [];
  const problems: ChainProblem[] = [];
  for (const node of graph.nodes) {
    const parsed = parsePluginType(node.type);
    if (!parsed) continue;
    let issues: { path: string; message: string }[];
    try {
      const result = await registry.call(parsed.pluginId, { kind: 'validate', key: parsed.nodeType, config: node.data as never });
      issues = result.kind === 'validate' ? result.issues : [];
    } catch (error) {
      issues = [{ path: '', message: `its plugin could not check the config (${error instanceof Error ? error.message : String(error)})` }];
    }
    for (const issue of issues) {
      problems.push({
        code: 'config_invalid',
        nodeId: node.id,
        ...(issue.path ? { field: issue.path } : {}),
        message: `Node '${node.id}' (${node.type})${issue.path ? `, field '${issue.path}'` : ''}: ${issue.message}`,
        fix: `Correct ${issue.path ? `'${issue.path}'` : 'the config'} as the plugin's form describes`,
      });
    }
  }
  return problems;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A chain by its id or its slug, or a 404 naming what was looked for. */
export async function findChain(em: EntityManager, idOrSlug: string): Promise<Chain> {
  const chain = UUID.test(idOrSlug)
    ? await em.findOne(ChainSchema, { id: idOrSlug.toLowerCase() })
    : await em.findOne(ChainSchema, { slug: idOrSlug });
  if (!chain) throw new HttpError(404, 'chain_not_found', `No chain with id or slug "${idOrSlug}".`);
  return chain;
}

/** Deepest nesting a chain file may have (a graph needs about ten levels; rule trees a few more). */
export const CHAIN_FILE_MAX_DEPTH = 64;
/** Aliases a chain file may use (`*name`): enough for shared snippets, far too few for an alias bomb. */
export const CHAIN_FILE_MAX_ALIASES = 100;

const invalidFile = (problem: string, details?: unknown) => new HttpError(400, 'invalid_file', `The file is not a valid chain file: ${problem}`, details);

/** Characters PostgreSQL cannot store in text or jsonb: NUL, and UTF-16 surrogates without their pair. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const unstorable = (text: string) => text.includes('\u0000') || LONE_SURROGATE.test(text);

/**
 * The first thing in a parsed value that no chain may hold, walked without recursion:
 * nesting deeper than `maxDepth`, or a key or string with a character PostgreSQL cannot
 * store (it would fail the insert, a 500, instead of a 400 naming the field).
 */
function storedValueProblem(value: unknown, maxDepth: number): string | null {
  const stack: [unknown, (string | number)[]][] = [[value, []]];
  const where = (path: (string | number)[]) => (path.length ? path.join('.') : '(root)');
  const bad = (text: string) => (text.includes('\u0000') ? 'a NUL character (\\0)' : 'a lone UTF-16 surrogate');
  while (stack.length > 0) {
    const [item, path] = stack.pop()!;
    if (typeof item === 'string') {
      if (unstorable(item)) return `it holds ${bad(item)} at ${where(path)}; remove it.`;
      continue;
    }
    if (item === null || typeof item !== 'object') continue;
    if (path.length >= maxDepth) return `it nests deeper than ${maxDepth} levels.`;
    for (const [key, child] of Object.entries(item)) {
      if (unstorable(key)) return `it holds ${bad(key)} in a key at ${where(path)}; remove it.`;
      stack.push([child, [...path, Array.isArray(item) ? Number(key) : key]]);
    }
  }
  return null;
}

const kindOf = (value: unknown) => (value === null ? 'null' : Array.isArray(value) ? 'a list' : typeof value === 'object' ? 'a mapping' : `a ${typeof value}`);

/**
 * Parses a chain file (YAML or JSON; text, or bytes that must be UTF-8) and validates it
 * against the graph schema. Every malformed file is a 400 `invalid_file` naming the
 * problem (syntax with line and column, not UTF-8, alias bombs, unresolved aliases, unknown
 * tags, nesting deeper than {@link CHAIN_FILE_MAX_DEPTH}, a top level that is not a
 * mapping, NUL or lone surrogates that PostgreSQL cannot store, with their field); a well-formed file that is not a graph is a 400 `invalid_chain` naming the field.
 */
export function parseChainFile(input: string | Uint8Array): Graph {
  let text: string;
  if (typeof input === 'string') text = input;
  else {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(input);
    } catch {
      throw invalidFile('it is not UTF-8 text; save it as UTF-8 and upload it again.');
    }
  }
  if (text.trim() === '') throw invalidFile('it is empty; send a chain as YAML or JSON.');
  let raw: unknown;
  try {
    const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
    const error = doc.errors[0];
    if (error) throw error;
    const tag = doc.warnings.find((w) => w.code === 'TAG_RESOLVE_FAILED');
    if (tag) throw tag;
    raw = doc.toJS({ maxAliasCount: CHAIN_FILE_MAX_ALIASES });
  } catch (err) {
    if (err instanceof YAMLError) {
      const pos = err.linePos?.[0];
      const first = err.message.split('\n')[0] ?? '';
      const problem = /call stack/i.test(first)
        ? `it nests deeper than ${CHAIN_FILE_MAX_DEPTH} levels`
        : err.code === 'TAG_RESOLVE_FAILED'
          ? `${first.replace(/ at line.*$/, '')}; remove the tag (chain files use plain YAML or JSON)`
          : first;
      throw new HttpError(400, 'invalid_file', `The file is not valid YAML/JSON${pos ? ` (line ${pos.line}, column ${pos.col})` : ''}: ${problem}`, pos ? { line: pos.line, column: pos.col } : undefined);
    }
    // yaml throws plain errors while resolving aliases (bombs, undefined anchors) and
    // RangeError on runaway nesting: all properties of the file, never of the server.
    if (err instanceof RangeError) throw invalidFile(`it nests deeper than ${CHAIN_FILE_MAX_DEPTH} levels.`);
    if (err instanceof Error && /alias/i.test(err.message)) {
      throw invalidFile(
        /excessive alias count/i.test(err.message)
          ? `it expands more than ${CHAIN_FILE_MAX_ALIASES} aliases (an "alias bomb"); write the repeated parts out or use fewer aliases.`
          : `${err.message}; define the anchor (&name) before using it (*name).`,
      );
    }
    throw err;
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw invalidFile(`its top level is ${kindOf(raw)}; a chain file is one mapping with slug, name, nodes and edges.`);
  }
  const problem = storedValueProblem(raw, CHAIN_FILE_MAX_DEPTH);
  if (problem) throw invalidFile(problem);
  const parsed = graphSchema.safeParse(raw);
  if (!parsed.success) {
    const details = parsed.error.issues.map((i) => ({ field: i.path.join('.'), message: i.message }));
    throw new HttpError(400, 'invalid_chain', `The chain file is invalid: ${details[0]?.field || '(root)'}: ${details[0]?.message}`, details);
  }
  return parsed.data;
}

/** Error → 422 with every compile error (node, field, fix). */
function compileFailure(slug: string, errors: ChainProblem[]): HttpError {
  const first = errors[0];
  return new HttpError(
    422,
    'chain_invalid',
    `Chain "${slug}" does not compile: ${first ? `${first.message}${first.fix ? ` ${first.fix}` : ''}` : 'unknown error'}`,
    errors,
  );
}

/**
 * The chains a graph's sub-chain nodes call, compiled by their active versions, keyed
 * by the reference the node uses. A missing target or one never published is an error.
 * With `as`, only chains that user may open resolve: one they may not is reported
 * exactly like one that does not exist.
 */
async function resolveSubchains(em: EntityManager, graph: Graph, as?: Principal): Promise<Record<string, CompiledChain>> {
  const refs = new Set(graph.nodes.filter((n) => n.type === 'subchain').map((n) => String((n.data as { chainRef?: unknown }).chainRef ?? '')));
  // An agent's sub-chain tools call chains too (pinned like a sub-chain node's).
  for (const n of graph.nodes.filter((node) => node.type === 'agent')) {
    const tools = (n.data as { tools?: unknown }).tools;
    for (const tool of Array.isArray(tools) ? (tools as Array<{ kind?: unknown; chainRef?: unknown }>) : []) if (tool.kind === 'subchain') refs.add(String(tool.chainRef ?? ''));
  }
  const result: Record<string, CompiledChain> = {};
  for (const ref of refs) {
    if (!ref || ref === graph.slug) continue;
    const chain = UUID.test(ref) ? await em.findOne(ChainSchema, { id: ref }) : await em.findOne(ChainSchema, { slug: ref });
    if (!chain?.activeVersionId) continue; // the compiler reports the unknown reference
    if (as && !can(as, 'chain:view', { type: 'chain', id: chain.id, ownerId: chain.ownerId ?? null })) continue; // …the same way
    const version = await em.findOneOrFail(ChainVersionSchema, { id: chain.activeVersionId });
    result[ref] = { ir: versionIrOf(version), versionId: version.id };
  }
  return result;
}

export interface CompiledGraph {
  ir: ChainIR;
  warnings: CompileError[];
}

/**
 * Compiles a graph with its sub-chains resolved; 422 with the errors when it does not
 * compile. With `as` (the publishing or simulating user), also when it uses a credential
 * or a chain that user may not use.
 */
export async function compileGraph(em: EntityManager, graph: Graph, as?: Principal): Promise<CompiledGraph> {
  const result = compileChain(graph, { subchains: await resolveSubchains(em, graph, as), ...pluginOptions() });
  if (!result.ok) throw compileFailure(graph.slug, disabledPluginErrors(graph, result.errors));
  const invalid = await pluginConfigProblems(graph);
  if (invalid.length > 0) throw compileFailure(graph.slug, invalid);
  const denied = as ? await accessProblems(em, as, result.ir) : [];
  if (denied.length > 0) throw compileFailure(graph.slug, denied);
  return { ir: result.ir, warnings: result.warnings };
}

/** Compile errors and warnings of a graph (sub-chains resolved); stores nothing. */
export interface GraphValidation {
  ok: boolean;
  errors: ChainProblem[];
  warnings: CompileError[];
}

/** Compiles a graph only to report its problems (the editor's "validate"), as `as` would publish it. */
export async function validateGraph(em: EntityManager, graph: Graph, as?: Principal): Promise<GraphValidation> {
  const result = compileChain(graph, { subchains: await resolveSubchains(em, graph, as), ...pluginOptions() });
  if (!result.ok) return { ok: false, errors: disabledPluginErrors(graph, result.errors), warnings: result.warnings };
  const invalid = await pluginConfigProblems(graph);
  if (invalid.length > 0) return { ok: false, errors: invalid, warnings: result.warnings };
  const denied = as ? await accessProblems(em, as, result.ir) : [];
  return { ok: denied.length === 0, errors: denied, warnings: result.warnings };
}

/**
 * Largest compiled chain (IR JSON, UTF-8 bytes) that can be published. Every session
 * records its versions' IRs in its workflow history (`loadChainVersion` is a local
 * activity), so this bounds that cost well below Temporal's 2 MB payload limit.
 */
export const MAX_IR_BYTES = 256 * 1024;

function checkIrSize(chain: Chain, ir: unknown): void {
  const bytes = Buffer.byteLength(JSON.stringify(ir), 'utf8');
  if (bytes <= MAX_IR_BYTES) return;
  throw new HttpError(
    422,
    'chain_too_large',
    `The compiled chain "${chain.slug}" is ${Math.ceil(bytes / 1024)} KB, over the ${MAX_IR_BYTES / 1024} KB limit: split it into sub-chains or move long texts and code out of it.`,
    { bytes, limit: MAX_IR_BYTES },
  );
}

/** Publishes a chain's draft: a new immutable, numbered version, made active. */
export async function publishChain(
  em: EntityManager,
  chain: Chain,
  opts: { note?: string; createdBy?: string | null; as?: Principal | undefined; onVersion?: (em: EntityManager, version: ChainVersion) => void } = {},
): Promise<ChainVersion> {
  const graph = draftGraphOf(chain);
  const { ir } = await compileGraph(em, graph, opts.as);
  checkIrSize(chain, ir);
  const same = await em.findOne(ChainVersionSchema, { chainId: chain.id, kind: 'published', hash: ir.hash }, { fields: ['id', 'number'] });
  if (same) {
    throw new HttpError(
      409,
      'already_published',
      same.id === chain.activeVersionId
        ? `Nothing to publish: the draft of "${chain.slug}" behaves exactly like version ${same.number}, which is active.`
        : `The draft of "${chain.slug}" behaves exactly like version ${same.number}; roll back to it (POST /api/v1/chains/${chain.id}/rollback with {"version": ${same.number}}) to make it active.`,
      { version: same.number },
    );
  }
  const last = await em.findOne(ChainVersionSchema, { chainId: chain.id, kind: 'published' }, { orderBy: { number: 'desc' } });
  const id = randomUUID();
  const version = em.create(ChainVersionSchema, {
    id,
    chainId: chain.id,
    kind: 'published',
    number: (last?.number ?? 0) + 1,
    graph,
    ir: stampVersion(ir, id),
    hash: ir.hash,
    note: opts.note ?? '',
    createdBy: opts.createdBy ?? null,
  });
  chain.activeVersionId = version.id;
  opts.onVersion?.(em, version); // e.g. an audit entry, written in the same flush
  await em.flush();
  return version;
}

/**
 * Compiles the draft into a draft version (same table, kind 'draft', keyed by content
 * hash), so the simulator starts sessions from a stored version id like real ones.
 * `as`: the simulating user, whose access to credentials and sub-chains is checked
 * (and, for a new draft version, its publisher at run time).
 */
export async function draftVersion(em: EntityManager, chain: Chain, as?: Principal): Promise<ChainVersion> {
  const graph = draftGraphOf(chain);
  const { ir } = await compileGraph(em, graph, as);
  const existing = await em.findOne(ChainVersionSchema, { chainId: chain.id, kind: 'draft', hash: ir.hash });
  if (existing) return existing;
  const id = randomUUID();
  const version = em.create(ChainVersionSchema, {
    id,
    chainId: chain.id,
    kind: 'draft',
    number: null,
    graph,
    ir: stampVersion(ir, id),
    hash: ir.hash,
    note: 'draft',
    createdBy: as?.user.id ?? null,
  });
  await em.flush();
  return version;
}

/**
 * The slug to store a new chain under: `slug` when free; on a conflict 409, or with
 * `rename` the first free `slug-2`, `slug-3`…
 */
export async function uniqueSlug(em: EntityManager, slug: string, onConflict: 'error' | 'rename' = 'error'): Promise<string> {
  if (!(await em.findOne(ChainSchema, { slug }))) return slug;
  if (onConflict !== 'rename') {
    throw new HttpError(409, 'slug_taken', `A chain with slug "${slug}" exists. Import with rename (API: ?onConflict=rename, CLI: --rename) to get "${slug}-2", or change the slug.`, { slug });
  }
  for (let n = 2; ; n++) {
    const candidate = `${slug.slice(0, 58)}-${n}`;
    if (!(await em.findOne(ChainSchema, { slug: candidate }))) return candidate;
  }
}

/** A chain's row fields that mirror its draft graph. */
export function chainFieldsFromGraph(graph: Graph): { slug: string; name: string; description: string; webChatEnabled: boolean } {
  return { slug: graph.slug, name: graph.name, description: graph.description ?? '', webChatEnabled: graph.webChat?.enabled ?? false };
}

/** A new chain that compiles: `/start` (or any first message) → a greeting. */
export function defaultGraph(slug: string, name: string): Graph {
  return graphSchema.parse({
    slug,
    name,
    nodes: [
      { id: 'start', type: 'start', position: { x: 0, y: 0 }, data: { trigger: { kind: 'any' } }, label: 'Any message' },
      { id: 'hello', type: 'message', position: { x: 280, y: 0 }, data: { text: 'Hello, {{ user.first_name | default: "friend" }}!' } },
    ],
    edges: [{ id: 'start-hello', source: 'start', sourcePort: 'next', target: 'hello' }],
  });
}

/** The draft of a copy: "<name> (copy)" under the slug `<slug>-copy` (made unique by the caller). */
export function duplicateGraph(graph: Graph): Graph {
  const slug = `${graph.slug.slice(0, 58).replace(/-+$/, '')}-copy`;
  return { ...structuredClone(graph), slug, name: `${graph.name.slice(0, 193)} (copy)` };
}

/**
 * Stores a new chain with `graph` as its draft (nothing published; the draft need not
 * compile yet). Flushed by the caller.
 */
export async function createDraftChain(em: EntityManager, graph: Graph, opts: { ownerId: string | null; onConflict?: 'error' | 'rename' }): Promise<Chain> {
  const slug = await uniqueSlug(em, graph.slug, opts.onConflict);
  const stored: Graph = { ...graph, slug };
  return em.create(ChainSchema, {
    id: randomUUID(),
    ...chainFieldsFromGraph(stored),
    draftGraph: stored,
    ownerId: opts.ownerId,
  });
}

export interface ImportOptions {
  /** On a slug conflict: 409 (default) or rename to slug-2, slug-3… */
  onConflict?: 'error' | 'rename';
  ownerId?: string | null;
  note?: string;
  /** The importing user: the file may only use credentials and chains they may use. */
  as?: Principal | undefined;
  /** Called with the transaction's entity manager before the commit (e.g. to add an audit entry). */
  onVersion?: (em: EntityManager, version: ChainVersion) => void;
}

/**
 * Imports a chain file: validates and compiles it first, then stores the chain and its
 * first published version in one transaction. A bad file changes nothing.
 */
export async function importChain(em: EntityManager, graph: Graph, opts: ImportOptions = {}): Promise<{ chain: Chain; version: ChainVersion }> {
  return em.transactional(async (tx) => {
    const slug = await uniqueSlug(tx, graph.slug, opts.onConflict);
    const stored: Graph = { ...graph, slug };
    await compileGraph(tx, stored, opts.as); // fail before anything is written
    const chain = tx.create(ChainSchema, {
      id: randomUUID(),
      ...chainFieldsFromGraph(stored),
      draftGraph: stored,
      ownerId: opts.ownerId ?? null,
    });
    const version = await publishChain(tx, chain, { note: opts.note ?? 'imported', createdBy: opts.ownerId ?? null, as: opts.as, ...(opts.onVersion ? { onVersion: opts.onVersion } : {}) });
    return { chain, version };
  });
}
