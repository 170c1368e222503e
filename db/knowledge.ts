// Knowledge bases in PostgreSQL: documents, chunks, and hybrid retrieval (full text with
// the english and russian configurations + vectors, fused by reciprocal rank).
//
// Vectors: every installation stores embeddings as float8[] (unit length) and ranks them
// by an exact dot product in SQL. When the `vector` extension is installed (the production
// compose's pgvector image, deploy/postgres/init.sh, migration 0014), chunks also get a
// `vector` column and each base an HNSW index (cosine) over its own dimension (a partial
// expression index), and the vector list comes from that index (`<=>`) instead. Both paths
// are tested: the exact one on the embedded PostgreSQL, pgvector on PGlite with its vector
// extension (test/knowledge/pgvector.test.ts).

import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';

type Conn = ReturnType<EntityManager['getConnection']>;

/** A PostgreSQL array literal (MikroORM's execute would expand a JS array into a list of parameters). */
export function pgArray(values: readonly (string | number)[]): string {
  return `{${values.map((v) => (typeof v === 'number' ? String(v) : `"${v.replace(/["\\]/g, '\\$&')}"`)).join(',')}}`;
}

export const documentStatuses = ['queued', 'extracting', 'embedding', 'ready', 'failed'] as const;
export type DocumentStatus = (typeof documentStatuses)[number];

export interface KnowledgeBaseRow {
  id: string;
  name: string;
  description: string;
  credential_id: string | null;
  model: string;
  owner_id: string | null;
  created_at: Date;
  updated_at: Date;
}

export interface KnowledgeDocumentRow {
  id: string;
  base_id: string;
  name: string;
  format: string;
  source_url: string | null;
  sha256: string;
  version: number;
  ready_version: number | null;
  status: DocumentStatus;
  error: string | null;
  chunk_count: number;
  embedded_count: number;
  workflow_id: string | null;
  ingested_ms: number | null;
  created_at: Date;
  updated_at: Date;
}

const DOC_COLUMNS = 'id, base_id, name, format, source_url, sha256, version, ready_version, status, error, chunk_count, embedded_count, workflow_id, ingested_ms, created_at, updated_at';

export async function findBase(em: EntityManager, id: string): Promise<KnowledgeBaseRow | undefined> {
  const rows = await em.getConnection().execute<KnowledgeBaseRow[]>(`select * from knowledge_base where id = ?`, [id]);
  return rows[0];
}

export async function listBases(em: EntityManager, visible: { all: true } | { all: false; ownerId: string; ids: string[] }): Promise<KnowledgeBaseRow[]> {
  if (visible.all) return em.getConnection().execute<KnowledgeBaseRow[]>(`select * from knowledge_base order by name, id`);
  return em.getConnection().execute<KnowledgeBaseRow[]>(`select * from knowledge_base where owner_id = ? or id = any(?::uuid[]) order by name, id`, [visible.ownerId, pgArray(visible.ids)]);
}

export async function insertBase(em: EntityManager, base: Pick<KnowledgeBaseRow, 'name' | 'description' | 'credential_id' | 'model' | 'owner_id'>): Promise<KnowledgeBaseRow> {
  const rows = await em
    .getConnection()
    .execute<KnowledgeBaseRow[]>(`insert into knowledge_base (id, name, description, credential_id, model, owner_id, created_at, updated_at) values (?, ?, ?, ?, ?, ?, now(), now()) returning *`, [randomUUID(), base.name, base.description, base.credential_id, base.model, base.owner_id]);
  return rows[0]!;
}

export async function updateBase(em: EntityManager, id: string, patch: Partial<Pick<KnowledgeBaseRow, 'name' | 'description' | 'credential_id' | 'model'>>): Promise<KnowledgeBaseRow> {
  const sets: string[] = [];
  const values: unknown[] = [];
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    sets.push(`${key} = ?`);
    values.push(value);
  }
  const rows = await em.getConnection().execute<KnowledgeBaseRow[]>(`update knowledge_base set ${[...sets, 'updated_at = now()'].join(', ')} where id = ? returning *`, [...values, id]);
  return rows[0]!;
}

export async function deleteBase(em: EntityManager, id: string): Promise<void> {
  await em.getConnection().execute(`delete from knowledge_base where id = ?`, [id], 'run');
}

export async function findDocument(em: EntityManager, baseId: string, id: string): Promise<KnowledgeDocumentRow | undefined> {
  const rows = await em.getConnection().execute<KnowledgeDocumentRow[]>(`select ${DOC_COLUMNS} from knowledge_document where id = ? and base_id = ?`, [id, baseId]);
  return rows[0];
}

export async function documentById(conn: Conn, id: string): Promise<(KnowledgeDocumentRow & { content: Buffer }) | undefined> {
  const rows = await conn.execute<(KnowledgeDocumentRow & { content: Buffer })[]>(`select ${DOC_COLUMNS}, content from knowledge_document where id = ?`, [id]);
  return rows[0];
}

export async function listDocuments(em: EntityManager, baseId: string): Promise<KnowledgeDocumentRow[]> {
  return em.getConnection().execute<KnowledgeDocumentRow[]>(`select ${DOC_COLUMNS} from knowledge_document where base_id = ? order by name, id`, [baseId]);
}

/** Stores a new document, or new bytes for an existing one (the version goes up); unchanged bytes change nothing. */
export async function upsertDocument(
  em: EntityManager,
  input: { baseId: string; id?: string; name: string; format: string; sourceUrl: string | null; content: Buffer; sha256: string },
): Promise<{ document: KnowledgeDocumentRow; changed: boolean }> {
  const conn = em.getConnection();
  if (input.id) {
    const [old] = await conn.execute<KnowledgeDocumentRow[]>(`select ${DOC_COLUMNS} from knowledge_document where id = ?`, [input.id]);
    if (old && old.sha256 === input.sha256 && old.status !== 'failed') return { document: old, changed: false };
    const rows = await conn.execute<KnowledgeDocumentRow[]>(
      `update knowledge_document set name = ?, format = ?, source_url = ?, content = ?, sha256 = ?, version = version + 1, status = 'queued', error = null, chunk_count = 0, embedded_count = 0, updated_at = now() where id = ? returning ${DOC_COLUMNS}`,
      [input.name, input.format, input.sourceUrl, input.content, input.sha256, input.id],
    );
    return { document: rows[0]!, changed: true };
  }
  const rows = await conn.execute<KnowledgeDocumentRow[]>(
    `insert into knowledge_document (id, base_id, name, format, source_url, content, sha256, version, status, created_at, updated_at) values (?, ?, ?, ?, ?, ?, ?, 1, 'queued', now(), now()) returning ${DOC_COLUMNS}`,
    [randomUUID(), input.baseId, input.name, input.format, input.sourceUrl, input.content, input.sha256],
  );
  return { document: rows[0]!, changed: true };
}

export async function setWorkflow(em: EntityManager, id: string, workflowId: string): Promise<void> {
  await em.getConnection().execute(`update knowledge_document set workflow_id = ? where id = ?`, [workflowId, id], 'run');
}

/** Deletes a document; its chunks go with it (foreign key, on delete cascade). */
export async function deleteDocument(em: EntityManager, id: string): Promise<void> {
  await em.getConnection().execute(`delete from knowledge_document where id = ?`, [id], 'run');
}

export interface ChunkInput {
  id: string;
  ordinal: number;
  heading: string;
  text: string;
  language: 'english' | 'russian';
}

/** Adds chunks of a document version; a chunk stored before (same deterministic id) is left as it is. */
export async function storeChunks(conn: Conn, baseId: string, documentId: string, version: number, chunks: readonly ChunkInput[]): Promise<number> {
  let added = 0;
  for (let i = 0; i < chunks.length; i += 200) {
    const batch = chunks.slice(i, i + 200);
    const values = batch.map(() => `(?, ?, ?, ?, ?, ?, ?, ?, to_tsvector(?::regconfig, ?))`).join(', ');
    const params = batch.flatMap((c) => [c.id, baseId, documentId, version, c.ordinal, c.heading, c.text, c.language, c.language, `${c.heading}\n${c.text}`]);
    const rows = await conn.execute<{ id: string }[]>(
      `insert into knowledge_chunk (id, base_id, document_id, version, ordinal, heading, text, language, tsv) values ${values} on conflict (id) do nothing returning id`,
      params,
    );
    added += rows.length;
  }
  return added;
}

/** Chunks of a version still without an embedding, in order. */
export async function chunksToEmbed(conn: Conn, documentId: string, version: number, limit: number): Promise<{ id: string; heading: string; text: string }[]> {
  return conn.execute(`select id, heading, text from knowledge_chunk where document_id = ? and version = ? and embedding is null order by ordinal limit ?`, [documentId, version, limit]);
}

export interface VectorSupport {
  /** The `vector` extension is installed and chunks have the `embedding_v` column. */
  available: boolean;
  /** The extension's version (e.g. 0.8.0); iterative HNSW scans need 0.8. */
  version: string | null;
}

const vectorSupport = new WeakMap<object, Promise<VectorSupport>>();

/**
 * Whether pgvector is usable on this database, checked once per connection pool: the
 * extension is installed (migration 0014 creates it when the server ships it). The
 * `embedding_v` column is added here when the extension was created after the migration ran.
 */
export function pgvectorSupport(conn: Conn): Promise<VectorSupport> {
  let known = vectorSupport.get(conn);
  if (!known) {
    known = (async (): Promise<VectorSupport> => {
      const [ext] = await conn.execute<{ extversion: string }[]>(`select extversion from pg_extension where extname = 'vector'`);
      if (!ext) return { available: false, version: null };
      await conn.execute(`alter table knowledge_chunk add column if not exists embedding_v vector`, [], 'run');
      return { available: true, version: ext.extversion };
    })().catch((error: unknown) => {
      vectorSupport.delete(conn);
      throw error;
    });
    vectorSupport.set(conn, known);
  }
  return known;
}

/** Whether pgvector is usable (see pgvectorSupport). */
export async function pgvectorAvailable(conn: Conn): Promise<boolean> {
  return (await pgvectorSupport(conn)).available;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A base id as an SQL literal: the HNSW indexes are partial (one per base), and only a literal lets the planner match them. */
function baseLiteral(baseId: string): string {
  if (!UUID.test(baseId)) throw new Error(`Knowledge base id '${baseId}' is not a UUID`);
  return `'${baseId.toLowerCase()}'`;
}

/** The name of a base's HNSW index over one dimension. */
export const hnswIndexName = (baseId: string, dimensions: number) => `knowledge_chunk_hnsw_${baseId.replace(/-/g, '').toLowerCase()}_${dimensions}`;

/** The HNSW index (cosine) of one base over its dimension, created once. */
async function ensureHnsw(conn: Conn, baseId: string, dimensions: number): Promise<void> {
  await conn.execute(
    `create index if not exists "${hnswIndexName(baseId, dimensions)}" on knowledge_chunk using hnsw ((embedding_v::vector(${dimensions})) vector_cosine_ops) where base_id = ${baseLiteral(baseId)}`,
    [],
    'run',
  );
}

/**
 * The vector list's SQL for a query embedding of `dimensions` numbers: `pgvector` orders by
 * `<=>` (cosine distance) over the base's HNSW index, `exact` by the dot product of the
 * stored unit-length float8[] (a scan of the base's chunks). Parameters: the query
 * embedding (twice for `pgvector`, as a `[…]` vector; once for `exact`, as a `{…}` array
 * literal), then the candidate count.
 */
export function vectorListSql(baseId: string, dimensions: number, path: 'pgvector' | 'exact'): string {
  const live = `c.base_id = ${baseLiteral(baseId)} and d.ready_version = c.version`;
  if (path === 'pgvector') {
    const v = `c.embedding_v::vector(${dimensions})`;
    const q = `?::vector(${dimensions})`;
    return `select c.id, 1 - (${v} <=> ${q}) as similarity from knowledge_chunk c join knowledge_document d on d.id = c.document_id
      where ${live} and c.embedding_v is not null order by ${v} <=> ${q} limit ?`;
  }
  return `select c.id, (select sum(a * b) from unnest(c.embedding, ?::float8[]) as t(a, b)) as similarity from knowledge_chunk c join knowledge_document d on d.id = c.document_id
    where ${live} and c.embedding is not null order by similarity desc nulls last, c.id limit ?`;
}

/** Stores unit-length embeddings (and the pgvector copy when available). */
export async function storeEmbeddings(conn: Conn, baseId: string, rows: readonly { id: string; embedding: number[] }[]): Promise<void> {
  if (rows.length === 0) return;
  const vector = await pgvectorAvailable(conn);
  for (const row of rows) {
    if (vector) await conn.execute(`update knowledge_chunk set embedding = ?::float8[], embedding_v = ?::vector where id = ?`, [pgArray(row.embedding), `[${row.embedding.join(',')}]`, row.id], 'run');
    else await conn.execute(`update knowledge_chunk set embedding = ?::float8[] where id = ?`, [pgArray(row.embedding), row.id], 'run');
  }
  if (vector) await ensureHnsw(conn, baseId, rows[0]!.embedding.length);
}

/** Updates a document's progress counters and status, and logs the progress (knowledge_ingest_event). */
export async function setProgress(conn: Conn, id: string, version: number, patch: { status?: DocumentStatus; error?: string | null; chunkCount?: number; ingestedMs?: number }): Promise<void> {
  const rows = await conn.execute<{ status: string; embedded_count: number; chunk_count: number; error: string | null }[]>(
    `update knowledge_document set status = coalesce(?, status), error = case when ?::boolean then ? else error end, chunk_count = coalesce(?, chunk_count),
       embedded_count = (select count(*) from knowledge_chunk c where c.document_id = knowledge_document.id and c.version = ? and c.embedding is not null),
       ingested_ms = coalesce(?, ingested_ms), updated_at = now() where id = ? and version = ? returning status, embedded_count, chunk_count, error`,
    [patch.status ?? null, patch.error !== undefined, patch.error ?? null, patch.chunkCount ?? null, version, patch.ingestedMs ?? null, id, version],
  );
  const row = rows[0];
  if (row) await logProgress(conn, id, version, row.status, row.embedded_count, row.chunk_count, row.status === 'failed' ? row.error : null);
}

async function logProgress(conn: Conn, id: string, version: number, stage: string, embedded: number, total: number, message: string | null): Promise<void> {
  await conn.execute(`insert into knowledge_ingest_event (document_id, version, stage, embedded, total, message, created_at) values (?, ?, ?, ?, ?, ?, clock_timestamp())`, [id, version, stage, embedded, total, message], 'run');
}

export interface IngestEventRow {
  version: number;
  stage: string;
  embedded: number;
  total: number;
  message: string | null;
  created_at: Date;
}

/** A document's ingestion log, oldest first (the last `limit` rows). */
export async function listIngestEvents(em: EntityManager, documentId: string, limit: number): Promise<IngestEventRow[]> {
  return em.getConnection().execute<IngestEventRow[]>(
    `select * from (select id, version, stage, embedded, total, message, created_at from knowledge_ingest_event where document_id = ? order by id desc limit ?) e order by id`,
    [documentId, limit],
  );
}

/** Makes a fully embedded version the searchable one and removes the chunks of older versions. */
export async function activateVersion(conn: Conn, id: string, version: number, ingestedMs: number): Promise<boolean> {
  const rows = await conn.execute<{ embedded_count: number; chunk_count: number }[]>(
    `update knowledge_document set ready_version = ?, status = 'ready', error = null, ingested_ms = ?, updated_at = now() where id = ? and version = ? returning embedded_count, chunk_count`,
    [version, ingestedMs, id, version],
  );
  if (rows.length === 0) return false;
  await conn.execute(`delete from knowledge_chunk where document_id = ? and version <> ?`, [id, version], 'run');
  await logProgress(conn, id, version, 'ready', rows[0]!.embedded_count, rows[0]!.chunk_count, null);
  return true;
}

export interface Citation {
  documentId: string;
  document: string;
  chunkId: string;
  ordinal: number;
  heading: string;
  text: string;
  /** Reciprocal rank fusion score (higher is better). */
  score: number;
  /** Cosine similarity to the query, when the chunk was in the vector list. */
  similarity: number | null;
  /** Full-text rank (ts_rank), when the chunk was in the text list. */
  textRank: number | null;
}

export interface SearchOptions {
  /** Chunks returned; default 5. */
  limit?: number;
  /** Candidates taken from each list before fusion; default 50. */
  candidates?: number;
  /** `exact` forces the float8[] scan even with pgvector (benchmarks, tests). */
  vector?: 'auto' | 'exact';
}

/** The RRF constant (Cormack et al. 2009). */
export const RRF_K = 60;

/**
 * Hybrid retrieval over the searchable versions of a base's documents: the full-text list
 * (english ∪ russian queries) and the vector list (when a query embedding is given) fused
 * by reciprocal rank, best first.
 */
export async function searchBase(conn: Conn, baseId: string, query: string, embedding: number[] | null, options: SearchOptions = {}): Promise<Citation[]> {
  const limit = options.limit ?? 5;
  const candidates = Math.max(options.candidates ?? 50, limit);
  const live = `c.base_id = ? and d.ready_version = c.version`;
  const text = await conn.execute<{ id: string; rank: number }[]>(
    `select c.id, ts_rank(c.tsv, q.q) as rank from knowledge_chunk c join knowledge_document d on d.id = c.document_id,
       (select websearch_to_tsquery('english', ?) || websearch_to_tsquery('russian', ?) as q) q
     where ${live} and c.tsv @@ q.q order by rank desc, c.id limit ?`,
    [query, query, baseId, candidates],
  );
  let vector: { id: string; similarity: number }[] = [];
  if (embedding) {
    const support = options.vector === 'exact' ? { available: false, version: null } : await pgvectorSupport(conn);
    if (support.available) {
      // An HNSW scan returns at most ef_search rows, and filters (older versions) apply after
      // it: ask for enough, and (pgvector ≥ 0.8) let the scan go on until the limit is met.
      const iterative = support.version !== null && /^(0\.(8|9|\d\d)|[1-9])/.test(support.version);
      const rows = await conn.transactional(async (trx) => {
        await conn.execute(`set local hnsw.ef_search = ${Math.min(1000, Math.max(40, candidates * 2))}`, [], 'run', trx);
        if (iterative) await conn.execute(`set local hnsw.iterative_scan = relaxed_order`, [], 'run', trx);
        return conn.execute<{ id: string; similarity: number }[]>(vectorListSql(baseId, embedding.length, 'pgvector'), [`[${embedding.join(',')}]`, `[${embedding.join(',')}]`, candidates], 'all', trx);
      });
      // relaxed_order may return neighbours slightly out of order.
      vector = rows.map((r) => ({ id: r.id, similarity: Number(r.similarity) })).sort((a, b) => b.similarity - a.similarity || (a.id < b.id ? -1 : 1));
    } else {
      vector = await conn.execute(vectorListSql(baseId, embedding.length, 'exact'), [pgArray(embedding), candidates]);
    }
  }
  const fused = new Map<string, { score: number; similarity: number | null; textRank: number | null }>();
  const add = (id: string, rank: number) => {
    const entry = fused.get(id) ?? { score: 0, similarity: null, textRank: null };
    entry.score += 1 / (RRF_K + rank + 1);
    fused.set(id, entry);
    return entry;
  };
  text.forEach((row, rank) => (add(row.id, rank).textRank = Number(row.rank)));
  vector.forEach((row, rank) => (add(row.id, rank).similarity = Number(row.similarity)));
  const top = [...fused.entries()].sort((a, b) => b[1].score - a[1].score || (b[1].similarity ?? 0) - (a[1].similarity ?? 0) || (a[0] < b[0] ? -1 : 1)).slice(0, limit);
  if (top.length === 0) return [];
  const rows = await conn.execute<{ id: string; document_id: string; name: string; ordinal: number; heading: string; text: string }[]>(
    `select c.id, c.document_id, d.name, c.ordinal, c.heading, c.text from knowledge_chunk c join knowledge_document d on d.id = c.document_id where c.id = any(?::varchar[])`,
    [pgArray(top.map(([id]) => id))],
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  return top.flatMap(([id, s]) => {
    const r = byId.get(id);
    return r ? [{ documentId: r.document_id, document: r.name, chunkId: id, ordinal: r.ordinal, heading: r.heading, text: r.text, score: s.score, similarity: s.similarity, textRank: s.textRank }] : [];
  });
}
