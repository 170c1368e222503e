// Issue 18: knowledge bases end to end on the real Temporal server and PostgreSQL, with a
// loopback OpenAI embeddings server: a pdf and a docx (Russian and English) ingested by
// the ingestion workflow, hybrid retrieval right for the fixed queries, re-ingestion after
// a change, deletion, permissions, size limits and a worker killed (kill -9) mid-ingestion.

import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKnowledgeToolActivity } from '../../activities/knowledge.ts';
import { createCredential } from '../../db/credential-store.ts';
import { insertBase, upsertDocument } from '../../db/knowledge.ts';
import { createLogger } from '../../lib/logger.ts';
import { createSecretBox } from '../../lib/secret-box.ts';
import { ingestWorkflowId } from '../../workflows/knowledge.ts';
import { bearer, createAccount, registerAdmin, startApi, type Account, type ApiHarness } from '../api/support/api.ts';
import { killGroup, startWorkerService, type Service } from '../production/support.ts';
import { eventually, testStack, uniqueTaskQueue } from '../support/stack.ts';
import { retrievalCases } from './cases.ts';
import { startEmbeddingsServer, type EmbeddingsServer } from './embeddings-server.ts';

const API_KEY = 'sk-test-embeddings-0123456789';
const fixture = (name: string) => readFileSync(new URL(`../fixtures/knowledge/${name}`, import.meta.url));
const PDF = 'application/pdf';
const DOCX = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';

let t: ApiHarness;
let admin: Account;
let server: EmbeddingsServer;
let baseId: string;
const docs: Record<string, string> = {};

const chunkRows = (documentId: string) =>
  t.h.db.orm.em.fork().getConnection().execute<{ id: string; version: number; embedded: boolean }[]>(`select id, version, embedding is not null as embedded from knowledge_chunk where document_id = ? order by ordinal`, [documentId]);

async function ready(documentId: string, version = 1) {
  return eventually(
    async () => {
      const res = await t.api.get(`/api/v1/knowledge-bases/${baseId}/documents/${documentId}`).set(bearer(admin.token));
      if (res.body.status === 'failed') throw new Error(`ingestion failed: ${res.body.error}`);
      return res.body.status === 'ready' && res.body.readyVersion === version ? res.body : undefined;
    },
    `document ${documentId} v${version} ready`,
    60_000,
  );
}

const query = async (text: string, token = admin.token) => t.api.post(`/api/v1/knowledge-bases/${baseId}/query`).set(bearer(token)).send({ query: text, limit: 3 });

beforeAll(async () => {
  server = await startEmbeddingsServer(API_KEY);
  t = await startApi('knowledge', { logger: createLogger('error', 'test'), httpAllow: ['127.0.0.1/32'], deps: { httpAllowPrivate: ['127.0.0.1/32'] } });
  admin = await registerAdmin(t.api);
  const credential = await t.api.post('/api/v1/credentials').set(bearer(admin.token)).send({ name: 'embeddings', kind: 'openai', value: API_KEY, meta: { baseUrl: server.baseUrl } });
  expect(credential.status, credential.text).toBe(201);
  const base = await t.api.post('/api/v1/knowledge-bases').set(bearer(admin.token)).send({ name: 'Shop', credentialId: 'embeddings', model: 'test-embed' });
  expect(base.status, base.text).toBe(201);
  baseId = base.body.id;
}, 60_000);

afterAll(async () => {
  await t?.close();
  await server?.close();
});

describe('knowledge bases', () => {
  it('ingests a pdf and a docx in Russian and English through the workflow, honouring a 429', async () => {
    server.rateLimitNext(1, 200);
    const started = performance.now();
    const pdf = await t.api.post(`/api/v1/knowledge-bases/${baseId}/documents?name=price-list.pdf`).set(bearer(admin.token)).set('Content-Type', PDF).send(fixture('price-list.pdf'));
    expect(pdf.status, pdf.text).toBe(202);
    expect(pdf.body).toMatchObject({ format: 'pdf', version: 1, workflowId: ingestWorkflowId(pdf.body.id, 1) });
    const docx = await t.api.post(`/api/v1/knowledge-bases/${baseId}/documents?name=manual.docx`).set(bearer(admin.token)).set('Content-Type', DOCX).send(fixture('manual.docx'));
    expect(docx.status, docx.text).toBe(202);
    docs.pdf = pdf.body.id;
    docs.docx = docx.body.id;
    const [p, d] = [await ready(pdf.body.id), await ready(docx.body.id)];
    const took = performance.now() - started;
    expect(p.chunks).toBe(5);
    expect(d.chunks).toBe(5);
    expect(p.embedded).toBe(5);
    expect(server.rateLimited).toBe(1);
    console.log(`[knowledge] ingested 2 documents, ${p.chunks + d.chunks} chunks in ${took.toFixed(0)} ms (pdf ${p.ingestionMs} ms, docx ${d.ingestionMs} ms in the workflow)`);
    const history = await t.h.client.workflow.getHandle(pdf.body.workflowId).fetchHistory();
    expect(JSON.stringify(history)).not.toContain(API_KEY);
  });

  const cases = retrievalCases;

  it('puts the right chunk first for at least 9 of 10 fixed queries, with citations', async () => {
    let right = 0;
    const times: number[] = [];
    const misses: string[] = [];
    for (let round = 0; round < 3; round++) {
      for (const [q, document, text] of cases) {
        const res = await query(q);
        expect(res.status, res.text).toBe(200);
        expect(res.body.mode).toBe('hybrid');
        times.push(res.body.tookMs);
        if (round > 0) continue;
        const top = res.body.citations[0];
        if (top && top.document === document && text.test(top.text)) right++;
        else misses.push(`${q} → ${top?.document}#${top?.ordinal}`);
        expect(top).toMatchObject({ documentId: expect.any(String), chunkId: expect.stringMatching(/^[0-9a-f]{64}$/), score: expect.any(Number) });
      }
    }
    times.sort((a, b) => a - b);
    console.log(`[knowledge] exact path: ${right}/10 right; query p50 ${times[Math.floor(times.length * 0.5)]!.toFixed(1)} ms, p95 ${times[Math.floor(times.length * 0.95)]!.toFixed(1)} ms (${times.length} queries incl. the embedding call)`, misses);
    expect(right).toBeGreaterThanOrEqual(9);
  });

  it('re-ingests a changed document: the new text is found, the old chunks are gone', async () => {
    const before = await chunkRows(docs.docx!);
    const same = await t.api.put(`/api/v1/knowledge-bases/${baseId}/documents/${docs.docx}`).set(bearer(admin.token)).set('Content-Type', DOCX).send(fixture('manual.docx'));
    expect(same.status, same.text).toBe(200);
    expect(same.body.version).toBe(1);
    const md = '# Battery care\n\nThe new graphene battery lasts about 300 minutes on the quiet mode.\n\n# Доставка запчастей\n\nЗапчасти отправляем почтой за 5 дней.\n';
    const changed = await t.api.put(`/api/v1/knowledge-bases/${baseId}/documents/${docs.docx}?name=manual.md`).set(bearer(admin.token)).set('Content-Type', 'text/markdown').send(md);
    expect(changed.status, changed.text).toBe(202);
    expect(changed.body.version).toBe(2);
    const doc = await ready(docs.docx!, 2);
    expect(doc.chunks).toBe(2);
    const after = await chunkRows(docs.docx!);
    expect(after.map((r) => r.version)).toEqual([2, 2]);
    expect(after.some((r) => before.some((b) => b.id === r.id))).toBe(false);
    const res = await query('how long does the battery last');
    expect(res.body.citations[0].text).toMatch(/graphene battery lasts about 300 minutes/);
    expect(res.body.citations.some((c: { text: string }) => /lithium/.test(c.text))).toBe(false);
  });

  it('deleting a document removes its chunks', async () => {
    const res = await t.api.delete(`/api/v1/knowledge-bases/${baseId}/documents/${docs.docx}`).set(bearer(admin.token));
    expect(res.status, res.text).toBe(204);
    expect(await chunkRows(docs.docx!)).toEqual([]);
    const q = await query('graphene battery');
    expect(q.body.citations.every((c: { document: string }) => c.document !== 'manual.md')).toBe(true);
  });

  it('refuses unknown formats (400), documents over the limit and bases over theirs (413), storing nothing', async () => {
    const count = async () => (await t.api.get(`/api/v1/knowledge-bases/${baseId}/documents`).set(bearer(admin.token))).body.total;
    const before = await count();
    const bad = await t.api.post(`/api/v1/knowledge-bases/${baseId}/documents?name=photo.png`).set(bearer(admin.token)).set('Content-Type', 'image/png').send(Buffer.from([1, 2, 3]));
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: 'unsupported_format' });
    const big = await t.api.post(`/api/v1/knowledge-bases/${baseId}/documents?name=big.txt`).set(bearer(admin.token)).set('Content-Type', 'text/plain').send(Buffer.alloc(21 * 1024 * 1024, 'a'));
    expect(big.status).toBe(413);
    expect(big.body.message).toMatch(/larger than the limit \(20971520 bytes\)/);
    const full = await t.appWith({}, undefined, { knowledge: { maxBaseBytes: 4096 } }).api.post(`/api/v1/knowledge-bases/${baseId}/documents?name=more.txt`).set(bearer(admin.token)).set('Content-Type', 'text/plain').send('more text');
    expect(full.status).toBe(413);
    expect(full.body.message).toMatch(/^Knowledge base "Shop" would hold \d+ bytes of documents, more than its limit \(4096 bytes, KNOWLEDGE_MAX_BASE_BYTES\)/);
    const blocked = await t.appWith({}, undefined, {}).api.post(`/api/v1/knowledge-bases/${baseId}/documents/from-url`).set(bearer(admin.token)).send({ url: 'http://169.254.169.254/latest/meta-data' });
    expect(blocked.status).toBe(400);
    expect(blocked.body).toMatchObject({ error: 'url_blocked', details: { field: 'body.url' } });
    expect(await count()).toBe(before);
  });

  it('is shared like chains: invisible (404) until shared, viewers query but do not upload, owners share', async () => {
    const editor = await createAccount(t.api, admin, 'editor', 'kb-editor');
    const viewer = await createAccount(t.api, admin, 'viewer', 'kb-viewer');
    expect((await t.api.get(`/api/v1/knowledge-bases/${baseId}`).set(bearer(viewer.token))).status).toBe(404);
    expect((await query('доставка', viewer.token)).status).toBe(404);
    expect((await t.api.get('/api/v1/knowledge-bases').set(bearer(viewer.token))).body.total).toBe(0);
    expect((await t.api.post('/api/v1/knowledge-bases').set(bearer(viewer.token)).send({ name: 'nope' })).status).toBe(403);
    const shared = await t.api.post(`/api/v1/knowledge-bases/${baseId}/grants`).set(bearer(admin.token)).send({ userId: viewer.id, role: 'viewer' });
    expect(shared.status, shared.text).toBe(200);
    expect((await query('доставка по Москве', viewer.token)).status).toBe(200);
    const upload = await t.api.post(`/api/v1/knowledge-bases/${baseId}/documents?name=x.txt`).set(bearer(viewer.token)).set('Content-Type', 'text/plain').send('text');
    expect(upload.status).toBe(403);
    expect(upload.body.message).toMatch(/editor role/);
    // An editor's own base cannot use a credential that is not shared with them.
    const own = await t.api.post('/api/v1/knowledge-bases').set(bearer(editor.token)).send({ name: 'Mine', credentialId: 'embeddings' });
    expect(own.status).toBe(400);
    expect(own.body).toMatchObject({ error: 'invalid_credential', details: { field: 'body.credentialId' } });
    // The agent's search_knowledge tool checks the chain publisher's access the same way.
    const tool = createKnowledgeToolActivity({ orm: t.h.db.orm, secretBox: t.h.secretBox, ssrf: { allow: ['127.0.0.1/32'] } });
    expect(await tool({ baseId, query: 'доставка по Москве', as: editor.id })).toMatchObject({ ok: false, error: { code: 'knowledge_base_forbidden' } });
    const found = await tool({ baseId, query: 'доставка по Москве', as: viewer.id, limit: 2 });
    expect(found.ok).toBe(true);
    expect(found.text).toMatch(/^\[1\] price-list\.pdf \(chunk 0\)\n.*МКАД/);
    const audit = await t.api.get('/api/v1/audit?limit=200').set(bearer(admin.token));
    const actions = (audit.body.items as { action: string }[]).map((a) => a.action);
    expect(actions).toEqual(expect.arrayContaining(['knowledge_base.create', 'knowledge_document.upload', 'knowledge_document.replace', 'knowledge_document.delete', 'knowledge_base.share']));
  });

  it('a worker killed with kill -9 mid-request resumes on another without duplicate chunks', { timeout: 150_000 }, async () => {
    // Real `chainflow worker` processes (test/production/support.ts) on their own task queue,
    // with their own secret key: the base's credential is stored with it.
    const key = `k1:${randomBytes(32).toString('base64')}`;
    const dir = mkdtempSync(join(tmpdir(), 'chainflow-kb-kill-'));
    const stack = testStack();
    const taskQueue = uniqueTaskQueue('knowledge-kill');
    const env = {
      DATABASE_URL: t.h.db.url,
      TEMPORAL_ADDRESS: stack.temporalAddress,
      TEMPORAL_NAMESPACE: stack.temporalNamespace,
      TEMPORAL_TASK_QUEUE: taskQueue,
      DATA_DIR: dir,
      WORKFLOW_BUNDLE: stack.workflowBundlePath,
      WORKER_STICKY_TIMEOUT: '2s',
      CHAINFLOW_SECRET_KEY: key,
      HTTP_ALLOW_PRIVATE: '127.0.0.1/32',
      KNOWLEDGE_EMBEDDING_BATCH: '3',
      LOG_LEVEL: 'info',
    };
    const services: Service[] = [];
    const startWorker = (name: string) => startWorkerService(name, env, dir, services);
    try {
      const em = t.h.db.orm.em.fork();
      await createCredential(em, createSecretBox(key), { name: 'embeddings_kill', kind: 'openai', value: API_KEY, meta: { baseUrl: server.baseUrl } });
      const base = await insertBase(em, { name: 'Kill', description: '', credential_id: 'embeddings_kill', model: 'test-embed', owner_id: null });
      const text = Array.from({ length: 12 }, (_, i) => `# Section ${i}\n\nParagraph number ${i} about topic${i} with some words.`).join('\n\n');
      const { document } = await upsertDocument(em, { baseId: base.id, name: 'long.md', format: 'md', sourceUrl: null, content: Buffer.from(text), sha256: createHash('sha256').update(text).digest('hex') });
      const requestsBefore = server.requests.length;
      server.hold();
      const first = await startWorker('kb-worker-1');
      const handle = await t.h.client.workflow.start('ingestKnowledgeDocument', { taskQueue, workflowId: ingestWorkflowId(document.id, 1), args: [{ documentId: document.id, version: 1 }] });
      // The first batch answered and stored; the second one held open: kill -9 the worker while it waits.
      await eventually(() => (server.held > 0 ? true : undefined), 'the first embeddings request', 60_000);
      // Only that one goes through: the next request is held however fast the worker sends it.
      server.releaseOne();
      await eventually(async () => ((await chunkRows(document.id)).filter((r) => r.embedded).length === 3 ? true : undefined), 'the first batch stored', 30_000);
      await eventually(() => (server.held > 0 ? true : undefined), 'the second embeddings request in flight', 30_000);
      const progress = await t.h.db.orm.em.fork().getConnection().execute<{ status: string; chunk_count: number; embedded_count: number }[]>(`select status, chunk_count, embedded_count from knowledge_document where id = ?`, [document.id]);
      expect(progress[0]).toEqual({ status: 'embedding', chunk_count: 12, embedded_count: 3 });
      killGroup(first.child, 'SIGKILL');
      await eventually(() => (first.gone() ? true : undefined), 'the worker to die', { timeoutMs: 10_000, intervalMs: 100 });
      server.release();
      await startWorker('kb-worker-2');
      // The dead attempt is noticed by its heartbeat timeout (15 s), then retried on the second worker.
      expect(await handle.result()).toMatchObject({ status: 'ready', chunks: 12 });
      const rows = await chunkRows(document.id);
      expect(rows).toHaveLength(12);
      expect(new Set(rows.map((r) => r.id)).size).toBe(12);
      expect(rows.every((r) => r.version === 1 && r.embedded)).toBe(true);
      // 4 batches of 3 answered, plus the one answered to the dead worker (its second batch, asked again).
      const asked = server.requests.slice(requestsBefore);
      expect(asked.map((inputs) => inputs.length)).toEqual([3, 3, 3, 3, 3]);
      expect(asked[2]).toEqual(asked[1]);
      // The progress log: each stage and each stored batch, embedded / total.
      const log = await t.api.get(`/api/v1/knowledge-bases/${base.id}/documents/${document.id}/events`).set(bearer(admin.token));
      expect(log.status, log.text).toBe(200);
      const steps = (log.body.items as { stage: string; embedded: number; total: number }[]).map((e) => `${e.stage} ${e.embedded}/${e.total}`);
      expect(steps).toEqual(['extracting 0/0', 'embedding 0/12', 'embedding 3/12', 'embedding 6/12', 'embedding 9/12', 'embedding 12/12', 'ready 12/12']);
      // The retry came from the heartbeat timeout, not the 2-minute start-to-close one.
      const retried = (await handle.fetchHistory()).events?.flatMap((e) => (e.activityTaskStartedEventAttributes?.attempt === 2 ? [e.activityTaskStartedEventAttributes] : [])) ?? [];
      expect(retried).toHaveLength(1);
      expect(retried[0]?.lastFailure?.timeoutFailureInfo?.timeoutType).toBe(temporal.api.enums.v1.TimeoutType.TIMEOUT_TYPE_HEARTBEAT);
    } finally {
      await Promise.allSettled(services.map((s) => s.stop()));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
