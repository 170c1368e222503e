import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import {
  compileChain,
  graphSchema,
  type ChainIR,
  type CompileError,
  type CompiledChain,
  type Graph,
} from '../../chain/index.ts';
import { ChainSchema, ChainVersionSchema, type Chain, type ChainVersion } from '../../db/entities.ts';
import { HttpError } from '../errors.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A chain by its id or its slug, or a 404 naming what was looked for. */
export async function findChain(em: EntityManager, idOrSlug: string): Promise<Chain> {
  const chain = UUID.test(idOrSlug)
    ? await em.findOne(ChainSchema, { id: idOrSlug.toLowerCase() })
    : await em.findOne(ChainSchema, { slug: idOrSlug });
  if (!chain) throw new HttpError(404, 'chain_not_found', `No chain with id or slug "${idOrSlug}".`);
  return chain;
}

/** Parses a chain file (YAML or JSON text) and validates it against the graph schema. */
export function parseChainFile(text: string): Graph {
  let raw: unknown;
  try {
    raw = parseYaml(text, { prettyErrors: true, maxAliasCount: 100 });
  } catch (err) {
    if (err instanceof YAMLParseError) {
      const pos = err.linePos?.[0];
      throw new HttpError(400, 'invalid_file', `The file is not valid YAML/JSON${pos ? ` (line ${pos.line}, column ${pos.col})` : ''}: ${err.message.split('\n')[0]}`, pos ? { line: pos.line, column: pos.col } : undefined);
    }
    throw err;
  }
  const parsed = graphSchema.safeParse(raw);
  if (!parsed.success) {
    const details = parsed.error.issues.map((i) => ({ field: i.path.join('.'), message: i.message }));
    throw new HttpError(400, 'invalid_chain', `The chain file is invalid: ${details[0]?.field || '(root)'}: ${details[0]?.message}`, details);
  }
  return parsed.data;
}

/** Error → 422 with every compile error (node, field, fix). */
function compileFailure(slug: string, errors: CompileError[]): HttpError {
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
 */
async function resolveSubchains(em: EntityManager, graph: Graph): Promise<Record<string, CompiledChain>> {
  const refs = new Set(graph.nodes.filter((n) => n.type === 'subchain').map((n) => String((n.data as { chainRef?: unknown }).chainRef ?? '')));
  const result: Record<string, CompiledChain> = {};
  for (const ref of refs) {
    if (!ref || ref === graph.slug) continue;
    const chain = UUID.test(ref) ? await em.findOne(ChainSchema, { id: ref }) : await em.findOne(ChainSchema, { slug: ref });
    if (!chain?.activeVersionId) continue; // the compiler reports the unknown reference
    const version = await em.findOneOrFail(ChainVersionSchema, { id: chain.activeVersionId });
    result[ref] = { ir: version.ir as unknown as ChainIR, versionId: version.id };
  }
  return result;
}

export interface CompiledGraph {
  ir: ChainIR;
  warnings: CompileError[];
}

/** Compiles a graph with its sub-chains resolved; 422 with the errors when it does not compile. */
export async function compileGraph(em: EntityManager, graph: Graph): Promise<CompiledGraph> {
  const result = compileChain(graph, { subchains: await resolveSubchains(em, graph) });
  if (!result.ok) throw compileFailure(graph.slug, result.errors);
  return { ir: result.ir, warnings: result.warnings };
}

/** Publishes a chain's draft: a new immutable, numbered version, made active. */
export async function publishChain(em: EntityManager, chain: Chain, opts: { note?: string; createdBy?: string | null } = {}): Promise<ChainVersion> {
  const graph = graphSchema.parse(chain.draftGraph);
  const { ir } = await compileGraph(em, graph);
  const last = await em.findOne(ChainVersionSchema, { chainId: chain.id, kind: 'published' }, { orderBy: { number: 'desc' } });
  const version = em.create(ChainVersionSchema, {
    id: randomUUID(),
    chainId: chain.id,
    kind: 'published',
    number: (last?.number ?? 0) + 1,
    graph: graph as unknown as Record<string, unknown>,
    ir: ir as unknown as Record<string, unknown>,
    hash: ir.hash,
    note: opts.note ?? '',
    createdBy: opts.createdBy ?? null,
  });
  chain.activeVersionId = version.id;
  await em.flush();
  return version;
}

/**
 * Compiles the draft into a draft version (same table, kind 'draft', keyed by content
 * hash), so the simulator starts sessions from a stored version id like real ones.
 */
export async function draftVersion(em: EntityManager, chain: Chain): Promise<ChainVersion> {
  const graph = graphSchema.parse(chain.draftGraph);
  const { ir } = await compileGraph(em, graph);
  const existing = await em.findOne(ChainVersionSchema, { chainId: chain.id, kind: 'draft', hash: ir.hash });
  if (existing) return existing;
  const version = em.create(ChainVersionSchema, {
    id: randomUUID(),
    chainId: chain.id,
    kind: 'draft',
    number: null,
    graph: graph as unknown as Record<string, unknown>,
    ir: ir as unknown as Record<string, unknown>,
    hash: ir.hash,
    note: 'draft',
    createdBy: null,
  });
  await em.flush();
  return version;
}

export interface ImportOptions {
  /** On a slug conflict: 409 (default) or rename to slug-2, slug-3… */
  onConflict?: 'error' | 'rename';
  ownerId?: string | null;
  note?: string;
}

/**
 * Imports a chain file: validates and compiles it first, then stores the chain and its
 * first published version in one transaction. A bad file changes nothing.
 */
export async function importChain(em: EntityManager, graph: Graph, opts: ImportOptions = {}): Promise<{ chain: Chain; version: ChainVersion }> {
  return em.transactional(async (tx) => {
    let slug = graph.slug;
    if (await tx.findOne(ChainSchema, { slug })) {
      if (opts.onConflict !== 'rename') {
        throw new HttpError(409, 'slug_taken', `A chain with slug "${slug}" exists. Import with rename (CLI: --rename) to get "${slug}-2", or change the slug.`, { slug });
      }
      for (let n = 2; ; n++) {
        const candidate = `${graph.slug.slice(0, 95)}-${n}`;
        if (!(await tx.findOne(ChainSchema, { slug: candidate }))) {
          slug = candidate;
          break;
        }
      }
    }
    const stored: Graph = { ...graph, slug };
    await compileGraph(tx, stored); // fail before anything is written
    const chain = tx.create(ChainSchema, {
      id: randomUUID(),
      slug,
      name: stored.name,
      description: stored.description ?? '',
      draftGraph: stored as unknown as Record<string, unknown>,
      webChatEnabled: stored.webChat?.enabled ?? false,
      ownerId: opts.ownerId ?? null,
    });
    const version = await publishChain(tx, chain, { note: opts.note ?? 'imported', createdBy: opts.ownerId ?? null });
    return { chain, version };
  });
}
