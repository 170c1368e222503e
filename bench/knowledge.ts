// `npm run bench -- --knowledge 1000,10000,50000,100000 [--knowledge-dims 384]
//                  [--knowledge-pgvector 1000,10000]`:
// retrieval latency of a knowledge base by its size. Synthetic chunks (random unit vectors,
// a few words of text) are generated in SQL into one base, then searchBase (db/knowledge.ts:
// the full-text list, the vector list, their fusion and the citations) answers 20 queries
// with random embeddings per size (5 for sizes over 10,000); p50/p95 of the whole search and of the vector list alone.
// - exact: the embedded PostgreSQL (the default installation), float8[] dot products;
// - pgvector: PGlite with its vector extension (test/knowledge/pglite.ts), HNSW (cosine).
//   PGlite is PostgreSQL compiled to WebAssembly, single-session: its figures are an upper
//   bound of a native pgvector server's.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { MikroORM } from '@mikro-orm/postgresql';
import { startEmbeddedPostgres } from '../db/embedded-postgres.ts';
import { hnswIndexName, insertBase, pgArray, pgvectorAvailable, searchBase, vectorListSql } from '../db/knowledge.ts';
import { createOrm, migrate } from '../db/orm.ts';
import { freePort } from '../lib/processes.ts';
import { startPgliteServer } from '../test/knowledge/pglite.ts';

export interface KnowledgeBenchRow {
  path: 'exact' | 'pgvector';
  chunks: number;
  dims: number;
  /** Whole searchBase (text + vector lists, fusion, citations), ms. */
  p50: number;
  p95: number;
  /** The vector list alone, ms. */
  vectorP50: number;
  vectorP95: number;
  /** Loading the chunks (and building the HNSW index), s. */
  loadS: number;
}

/** Queries per size (after 1 warm-up): fewer for big bases, where one exact scan takes seconds. */
const queriesFor = (size: number) => (size <= 10_000 ? 20 : 5);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

function randomUnit(dims: number): number[] {
  const v = Array.from({ length: dims }, () => Math.random() * 2 - 1);
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}

async function measure(orm: MikroORM, path: 'exact' | 'pgvector', sizes: number[], dims: number, say: (line: string) => void): Promise<KnowledgeBenchRow[]> {
  const conn = orm.em.fork().getConnection();
  const vector = path === 'pgvector';
  if (vector && !(await pgvectorAvailable(conn))) throw new Error('pgvector is not available on this server');
  const base = await insertBase(orm.em.fork(), { name: `bench ${path}`, description: '', credential_id: null, model: 'synthetic', owner_id: null });
  const [doc] = await conn.execute<{ id: string }[]>(
    `insert into knowledge_document (id, base_id, name, format, content, sha256, version, ready_version, status, created_at, updated_at) values (gen_random_uuid(), ?, 'synthetic.txt', 'txt', '\\x00', '', 1, 1, 'ready', now(), now()) returning id`,
    [base.id],
  );
  const rows: KnowledgeBenchRow[] = [];
  let have = 0;
  for (const size of sizes) {
    const started = performance.now();
    if (vector) await conn.execute(`drop index if exists "${hnswIndexName(base.id, dims)}"`, [], 'run');
    for (let from = have; from < size; from += 5000) {
      const to = Math.min(size, from + 5000);
      // Unit vectors need a norm per row: a lateral array, then each element divided by it.
      await conn.execute(
        `insert into knowledge_chunk (id, base_id, document_id, version, ordinal, heading, text, language, tsv, embedding${vector ? ', embedding_v' : ''})
         select md5(?::text || i), ?, ?, 1, i, '', t.text, 'english', to_tsvector('english', t.text), u.e${vector ? ', u.e::vector' : ''}
         from generate_series(?::int, ?::int) as i,
           lateral (select 'chunk ' || i || ' about topic' || (i % 97) || ' and item' || (i % 1013) as text) t,
           lateral (select array_agg(x / n) as e from (select x, sqrt(sum(x * x) over ()) as n from (select random() * 2 - 1 + (i * 0) as x from generate_series(1, ${dims})) r) s) u`,
        [base.id, base.id, doc!.id, from, to - 1],
        'run',
      );
    }
    have = size;
    if (vector) await conn.execute(`create index "${hnswIndexName(base.id, dims)}" on knowledge_chunk using hnsw ((embedding_v::vector(${dims})) vector_cosine_ops) where base_id = '${base.id}'`, [], 'run');
    await conn.execute('analyze knowledge_chunk', [], 'run');
    const loadS = (performance.now() - started) / 1000;
    const whole: number[] = [];
    const list: number[] = [];
    const queries = queriesFor(size);
    for (let q = 0; q < queries + 1; q++) {
      const embedding = randomUnit(dims);
      const t0 = performance.now();
      const found = await searchBase(conn, base.id, `topic${q % 97} item${q}`, embedding, { limit: 5, vector: vector ? 'auto' : 'exact' });
      const t1 = performance.now();
      if (found.length === 0) throw new Error('the bench search found nothing');
      const params = vector ? [`[${embedding.join(',')}]`, `[${embedding.join(',')}]`, 50] : [pgArray(embedding), 50];
      const t2 = performance.now();
      await conn.execute(vectorListSql(base.id, dims, vector ? 'pgvector' : 'exact'), params);
      const t3 = performance.now();
      if (q < 1) continue; // warm-up
      whole.push(t1 - t0);
      list.push(t3 - t2);
    }
    whole.sort((a, b) => a - b);
    list.sort((a, b) => a - b);
    const row = { path, chunks: size, dims, p50: percentile(whole, 50), p95: percentile(whole, 95), vectorP50: percentile(list, 50), vectorP95: percentile(list, 95), loadS };
    say(`knowledge ${path} ${size} chunks × ${dims}: search p50 ${row.p50.toFixed(1)} ms, p95 ${row.p95.toFixed(1)} ms; vector list p50 ${row.vectorP50.toFixed(1)} ms, p95 ${row.vectorP95.toFixed(1)} ms (loaded in ${loadS.toFixed(1)} s)`);
    rows.push(row);
  }
  return rows;
}

/** Runs the exact path on a fresh embedded PostgreSQL and the pgvector path on PGlite. */
export async function benchKnowledge(opts: { exact: number[]; pgvector: number[]; dims: number; say: (line: string) => void }): Promise<KnowledgeBenchRow[]> {
  const rows: KnowledgeBenchRow[] = [];
  if (opts.exact.length > 0) {
    const dir = mkdtempSync(join(tmpdir(), 'chainflow-bench-kb-'));
    const pg = await startEmbeddedPostgres({ dir, port: await freePort() });
    const orm = await createOrm({ url: pg.url, poolMax: 2 });
    try {
      await migrate(orm);
      rows.push(...(await measure(orm, 'exact', opts.exact, opts.dims, opts.say)));
    } finally {
      await orm.close();
      await pg.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  if (opts.pgvector.length > 0) {
    const server = await startPgliteServer();
    const orm = await createOrm({ url: server.url, poolMax: 2 });
    try {
      await migrate(orm);
      rows.push(...(await measure(orm, 'pgvector', opts.pgvector, opts.dims, opts.say)));
    } finally {
      await orm.close();
      await server.close();
    }
  }
  return rows;
}
