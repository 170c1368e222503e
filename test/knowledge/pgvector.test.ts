// Issue 18, the pgvector path for real: migrations (0014 creates the `vector` extension
// and the `embedding_v` column) run on PGlite with its vector extension, served over the
// PostgreSQL protocol (test/knowledge/pglite.ts); the ingestion activities store the pdf and
// docx fixtures with the loopback embeddings server, each base gets its HNSW index, and the
// fixed queries are answered through `<=>` over that index (the plan is checked), with the
// same top chunk as the exact float8[] path.

import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { MikroORM } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKnowledgeActivities, createKnowledgeSearch } from '../../activities/knowledge.ts';
import { createCredential } from '../../db/credential-store.ts';
import { hnswIndexName, insertBase, pgvectorSupport, upsertDocument, vectorListSql } from '../../db/knowledge.ts';
import { createOrm, migrate } from '../../db/orm.ts';
import { createLogger } from '../../lib/logger.ts';
import { createSecretBox } from '../../lib/secret-box.ts';
import { retrievalCases } from './cases.ts';
import { DIMENSIONS, embedding, startEmbeddingsServer, type EmbeddingsServer } from './embeddings-server.ts';
import { startPgliteServer, type PgliteServer } from './pglite.ts';

const API_KEY = 'sk-test-embeddings-pgvector-0123456789';
const box = createSecretBox(`k1:${randomBytes(32).toString('base64')}`);
const ssrf = { allow: ['127.0.0.1/32'] };

let pglite: PgliteServer;
let orm: MikroORM;
let server: EmbeddingsServer;
let baseId: string;

beforeAll(async () => {
  server = await startEmbeddingsServer(API_KEY);
  pglite = await startPgliteServer();
  orm = await createOrm({ url: pglite.url, poolMax: 4 });
  await migrate(orm);
  const em = orm.em.fork();
  await createCredential(em, box, { name: 'embeddings', kind: 'openai', value: API_KEY, meta: { baseUrl: server.baseUrl } });
  baseId = (await insertBase(em, { name: 'Shop', description: '', credential_id: 'embeddings', model: 'test-embed', owner_id: null })).id;
}, 120_000);

afterAll(async () => {
  await orm?.close();
  await pglite?.close();
  await server?.close();
});

describe('knowledge retrieval on pgvector (PGlite + vector over the wire protocol)', () => {
  it('the migration created the extension and the vector column', async () => {
    const conn = orm.em.fork().getConnection();
    expect(await pgvectorSupport(conn)).toEqual({ available: true, version: expect.stringMatching(/^\d+\.\d+/) });
    const [column] = await conn.execute<{ udt_name: string }[]>(`select udt_name from information_schema.columns where table_name = 'knowledge_chunk' and column_name = 'embedding_v'`);
    expect(column?.udt_name).toBe('vector');
  });

  it('ingests the pdf and the docx through the ingestion activities into vectors with an HNSW index', async () => {
    const activities = createKnowledgeActivities({ orm, logger: createLogger('silent', 'test'), secretBox: box, ssrf });
    const started = performance.now();
    for (const [name, format] of [['price-list.pdf', 'pdf'], ['manual.docx', 'docx']] as const) {
      const content = readFileSync(new URL(`../fixtures/knowledge/${name}`, import.meta.url));
      const { document } = await upsertDocument(orm.em.fork(), { baseId, name, format, sourceUrl: null, content, sha256: createHash('sha256').update(content).digest('hex') });
      const step = { documentId: document.id, version: document.version };
      expect(await activities.knowledgeExtract(step)).toEqual({ chunks: 5, stale: false });
      while ((await activities.knowledgeEmbed(step)).remaining);
      expect(await activities.knowledgeFinish({ ...step, startedAt: 0, finishedAt: 1 })).toBe(true);
    }
    const conn = orm.em.fork().getConnection();
    const [counts] = await conn.execute<{ chunks: number; vectors: number }[]>(`select count(*)::int as chunks, count(embedding_v)::int as vectors from knowledge_chunk where base_id = ?`, [baseId]);
    expect(counts).toEqual({ chunks: 10, vectors: 10 });
    const indexes = await conn.execute<{ indexdef: string }[]>(`select indexdef from pg_indexes where indexname = ?`, [hnswIndexName(baseId, DIMENSIONS)]);
    expect(indexes[0]?.indexdef).toMatch(/USING hnsw .*vector_cosine_ops.*WHERE/);
    console.log(`[knowledge/pgvector] 2 documents, 10 chunks ingested in ${(performance.now() - started).toFixed(0)} ms (activities called directly)`);
  });

  it('answers the fixed queries through <=> over the HNSW index: the right chunk first for at least 9 of 10, as on the exact path', async () => {
    const conn = orm.em.fork().getConnection();
    // Ten chunks are a seq scan's job; with seq scans off the plan shows the query matches the base's partial HNSW index.
    const q = `[${embedding('доставка').join(',')}]`;
    const plan = await conn.transactional(async (trx) => {
      await conn.execute('set local enable_seqscan = off', [], 'run', trx);
      return conn.execute<{ 'QUERY PLAN': string }[]>(`explain ${vectorListSql(baseId, DIMENSIONS, 'pgvector')}`, [q, q, 50], 'all', trx);
    });
    expect(plan.map((r) => r['QUERY PLAN']).join('\n')).toContain(`Index Scan using ${hnswIndexName(baseId, DIMENSIONS)}`);
    const search = createKnowledgeSearch({ secretBox: box, ssrf });
    let right = 0;
    const misses: string[] = [];
    const times: number[] = [];
    let float32 = 0;
    for (const [q, document, text] of retrievalCases) {
      const answer = await search(orm.em.fork(), { baseId, query: q, limit: 3 });
      const exact = await search(orm.em.fork(), { baseId, query: q, limit: 3, vector: 'exact' });
      expect(answer?.mode).toBe('hybrid');
      times.push(answer!.tookMs);
      const top = answer!.citations[0];
      expect(top?.similarity).not.toBeNull();
      expect(top?.chunkId).toBe(exact!.citations[0]?.chunkId);
      // pgvector computes in float4, the exact path in float8: equal to ~6 digits, rarely to the last bit.
      expect(top!.similarity!).toBeCloseTo(exact!.citations[0]!.similarity!, 5);
      if (top!.similarity !== exact!.citations[0]!.similarity) float32++;
      if (top && top.document === document && text.test(top.text)) right++;
      else misses.push(`${q} → ${top?.document}#${top?.ordinal}`);
    }
    times.sort((a, b) => a - b);
    console.log(`[knowledge/pgvector] ${right}/10 right; query p50 ${times[5]!.toFixed(1)} ms, max ${times[9]!.toFixed(1)} ms (embedding call included)`, misses);
    expect(right).toBeGreaterThanOrEqual(9);
    expect(float32, 'the similarities came from the vector column, not the float8[] one').toBeGreaterThan(0);
  });
});
