import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import { GrantSchema } from '../../db/accounts.ts';
import { CredentialSchema } from '../../db/credential.ts';
import { CredentialError } from '../../db/credential-store.ts';
import {
  deleteBase,
  deleteDocument,
  findBase,
  findDocument,
  insertBase,
  listBases,
  listDocuments,
  listIngestEvents,
  pgArray,
  setWorkflow,
  updateBase,
  upsertDocument,
  type DocumentStatus,
  type KnowledgeBaseRow,
  type KnowledgeDocumentRow,
} from '../../db/knowledge.ts';
import { formatOf, type KnowledgeFormat } from '../../activities/knowledge-text.ts';
import { createKnowledgeSearch } from '../../activities/knowledge.ts';
import { createSsrfGuard, findSsrfError, guardedFetch } from '../../activities/ssrf.ts';
import { ingestWorkflowId } from '../../workflows/knowledge.ts';
import type { SecretBox } from '../../lib/secret-box.ts';
import type { Principal } from '../auth/principal.ts';
import { HttpError } from '../errors.ts';
import { authorize, roleOn, visibleKnowledgeBases, type Action, type Resource } from '../policy.ts';
import { shareBodySchema } from '../schemas/chains.ts';
import { idParamsSchema } from '../schemas/common.ts';
import {
  createKnowledgeBaseBodySchema,
  documentParamsSchema,
  fetchDocumentBodySchema,
  knowledgeBaseListSchema,
  knowledgeBaseSchema,
  knowledgeDocumentListSchema,
  knowledgeDocumentSchema,
  knowledgeGrantListSchema,
  knowledgeGrantParamsSchema,
  ingestEventsQuerySchema,
  knowledgeIngestEventListSchema,
  knowledgeGrantViewSchema,
  knowledgeQueryBodySchema,
  knowledgeQueryResultSchema,
  updateKnowledgeBaseBodySchema,
  uploadQuerySchema,
} from '../schemas/knowledge.ts';
import { recordAudit } from '../services/audit.ts';
import { listAccess, shareResource, unshareResource, type SharedResource } from '../services/grants.ts';
import { defineOperation, type Operation } from './define.ts';

/** The size limit of one document (upload or URL): 20 MB (KNOWLEDGE_MAX_DOCUMENT_BYTES). */
export const DEFAULT_KNOWLEDGE_MAX_DOCUMENT_BYTES = 20 * 1024 * 1024;
/** The size limit of one base's documents together: 200 MB (KNOWLEDGE_MAX_BASE_BYTES). */
export const DEFAULT_KNOWLEDGE_MAX_BASE_BYTES = 200 * 1024 * 1024;

export interface KnowledgeRouteDeps {
  temporal: Client;
  taskQueue: string;
  secretBox?: SecretBox | undefined;
  /** Private targets document URLs and embedding endpoints may reach (HTTP_ALLOW_PRIVATE). */
  httpAllowPrivate?: readonly string[] | undefined;
  maxDocumentBytes?: number | undefined;
  maxBaseBytes?: number | undefined;
}

const tags: [string] = ['knowledge'];

const baseResource = (base: KnowledgeBaseRow, ref?: string): Resource => ({ type: 'knowledge_base', id: base.id, ownerId: base.owner_id, ...(ref ? { ref } : {}) });

async function loadBase(em: EntityManager, principal: Principal | null, id: string, action: Action): Promise<KnowledgeBaseRow> {
  const base = await findBase(em, id);
  if (!base) throw new HttpError(404, 'knowledge_base_not_found', `No knowledge base with id "${id}".`);
  authorize(principal, action, baseResource(base, id));
  return base;
}

async function loadDocument(em: EntityManager, base: KnowledgeBaseRow, id: string): Promise<KnowledgeDocumentRow> {
  const doc = await findDocument(em, base.id, id);
  if (!doc) throw new HttpError(404, 'document_not_found', `No document "${id}" in knowledge base "${base.name}".`);
  return doc;
}

/** The embedding credential a body names: an 'openai' credential the caller may use (400 naming the field otherwise). */
async function embeddingCredential(em: EntityManager, principal: Principal, ref: string | null | undefined): Promise<string | null | undefined> {
  if (ref === undefined || ref === null) return ref;
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(ref);
  const row = await em.findOne(CredentialSchema, uuid ? { id: ref } : { name: ref });
  const resource: Resource | null = row ? { type: 'credential', id: row.id, ownerId: row.ownerId ?? null } : null;
  if (!row || !resource || roleOn(principal, resource) === null) {
    throw new HttpError(400, 'invalid_credential', `body.credentialId: no credential "${ref}" that you may use; pick an 'openai' credential from GET /api/v1/credentials or share one with you.`, { field: 'body.credentialId' });
  }
  if (row.kind !== 'openai') throw new HttpError(400, 'invalid_credential', `body.credentialId: credential "${row.name}" is a '${row.kind}' credential; embeddings need an 'openai' (OpenAI-compatible) one.`, { field: 'body.credentialId' });
  return row.id;
}

async function baseViews(em: EntityManager, principal: Principal, bases: KnowledgeBaseRow[]) {
  const ids = bases.map((b) => b.id);
  const counts = ids.length
    ? await em.getConnection().execute<{ base_id: string; documents: number; chunks: number }[]>(
        `select d.base_id, count(distinct d.id)::int as documents, count(c.id)::int as chunks from knowledge_document d left join knowledge_chunk c on c.document_id = d.id and c.version = d.ready_version where d.base_id = any(?::uuid[]) group by d.base_id`,
        [pgArray(ids)],
      )
    : [];
  const byBase = new Map(counts.map((c) => [c.base_id, c]));
  return bases.map((b) => ({
    id: b.id,
    name: b.name,
    description: b.description,
    credentialId: b.credential_id,
    model: b.model,
    ownerId: b.owner_id,
    role: roleOn(principal, baseResource(b)) ?? 'viewer',
    documents: byBase.get(b.id)?.documents ?? 0,
    chunks: byBase.get(b.id)?.chunks ?? 0,
    createdAt: iso(b.created_at),
    updatedAt: iso(b.updated_at),
  }));
}

/** Raw queries return timestamps as PostgreSQL text. */
const iso = (value: Date | string) => new Date(value).toISOString();

const documentView = (d: KnowledgeDocumentRow) => ({
  id: d.id,
  baseId: d.base_id,
  name: d.name,
  format: d.format as KnowledgeFormat,
  sourceUrl: d.source_url,
  sha256: d.sha256,
  version: d.version,
  readyVersion: d.ready_version,
  status: d.status,
  error: d.error,
  chunks: d.chunk_count,
  embedded: d.embedded_count,
  ingestionMs: d.ingested_ms,
  workflowId: d.workflow_id,
  createdAt: iso(d.created_at),
  updatedAt: iso(d.updated_at),
});

const sharedBase = (base: KnowledgeBaseRow): SharedResource => ({
  type: 'knowledge_base',
  id: base.id,
  ownerId: base.owner_id,
  label: `knowledge base "${base.name}"`,
  ownerRemovalHint: "The owner's access cannot be removed; share the knowledge base with someone else instead.",
});

function pickFormat(explicit: KnowledgeFormat | undefined, contentType: string | undefined, name: string | undefined, field: string): KnowledgeFormat {
  const format = explicit ?? formatOf(contentType, name);
  if (!format) {
    throw new HttpError(400, 'unsupported_format', `${field}: cannot tell the document's format from Content-Type "${contentType ?? '(none)'}"${name ? ` and name "${name}"` : ''}; send txt, md, html, pdf or docx with its Content-Type (e.g. application/pdf), a name with its extension, or ?format=.`, { field, formats: ['txt', 'md', 'html', 'pdf', 'docx'] });
  }
  return format;
}

export function knowledgeOperations(deps: KnowledgeRouteDeps): Operation[] {
  const maxBytes = deps.maxDocumentBytes ?? DEFAULT_KNOWLEDGE_MAX_DOCUMENT_BYTES;
  const maxBaseBytes = deps.maxBaseBytes ?? DEFAULT_KNOWLEDGE_MAX_BASE_BYTES;
  const allow = [...(deps.httpAllowPrivate ?? [])];
  const fetchGuarded = guardedFetch(createSsrfGuard({ allow }));
  const queryKnowledge = deps.secretBox ? createKnowledgeSearch({ secretBox: deps.secretBox, ssrf: { allow } }) : undefined;

  /** Stores the bytes and starts the version's ingestion workflow (nothing when the bytes did not change). */
  async function ingest(em: EntityManager, base: KnowledgeBaseRow, input: { id?: string; name: string; format: KnowledgeFormat; sourceUrl: string | null; content: Buffer }) {
    if (input.content.length === 0) throw new HttpError(400, 'document_empty', 'body: the document is empty; send its bytes as the request body.', { field: 'body' });
    if (input.content.length > maxBytes) throw new HttpError(413, 'payload_too_large', `The document is ${input.content.length} bytes, larger than the limit (${maxBytes} bytes); split it into smaller documents.`, { limit: maxBytes });
    const [stored] = await em.getConnection().execute<{ bytes: string }[]>(`select coalesce(sum(octet_length(content)), 0)::bigint as bytes from knowledge_document where base_id = ? and id <> ?`, [base.id, input.id ?? '00000000-0000-0000-0000-000000000000']);
    const others = Number(stored?.bytes ?? 0);
    if (others + input.content.length > maxBaseBytes) {
      throw new HttpError(413, 'payload_too_large', `Knowledge base "${base.name}" would hold ${others + input.content.length} bytes of documents, more than its limit (${maxBaseBytes} bytes, KNOWLEDGE_MAX_BASE_BYTES); delete documents or use another base.`, { limit: maxBaseBytes });
    }
    const sha256 = createHash('sha256').update(input.content).digest('hex');
    const { document, changed } = await upsertDocument(em, { baseId: base.id, ...(input.id ? { id: input.id } : {}), name: input.name, format: input.format, sourceUrl: input.sourceUrl, content: input.content, sha256 });
    if (!changed) return { document, changed };
    const workflowId = ingestWorkflowId(document.id, document.version);
    await deps.temporal.workflow.start('ingestKnowledgeDocument', { taskQueue: deps.taskQueue, workflowId, args: [{ documentId: document.id, version: document.version }], workflowIdConflictPolicy: 'USE_EXISTING' });
    await setWorkflow(em, document.id, workflowId);
    return { document: { ...document, workflow_id: workflowId }, changed };
  }

  async function fetchUrl(url: string): Promise<{ bytes: Buffer; contentType: string | undefined }> {
    let response: Response;
    try {
      response = (await fetchGuarded(url, { method: 'GET', signal: AbortSignal.timeout(30_000) })) as unknown as Response;
    } catch (error) {
      const blocked = findSsrfError(error);
      if (blocked) throw new HttpError(400, 'url_blocked', `body.url: ${blocked.message}; documents are fetched only from public addresses (or those in HTTP_ALLOW_PRIVATE).`, { field: 'body.url' });
      throw new HttpError(400, 'url_unreachable', `body.url: ${url} could not be fetched: ${error instanceof Error ? error.message : String(error)}.`, { field: 'body.url' });
    }
    if (!response.ok) throw new HttpError(400, 'url_unreachable', `body.url: ${url} answered ${response.status}; give an address that returns the document.`, { field: 'body.url', status: response.status });
    const declared = Number(response.headers.get('content-length') ?? 0);
    if (declared > maxBytes) throw new HttpError(413, 'payload_too_large', `body.url: the document is ${declared} bytes, larger than the limit (${maxBytes} bytes); split it into smaller documents.`, { field: 'body.url', limit: maxBytes });
    const chunks: Buffer[] = [];
    let size = 0;
    const reader = response.body?.getReader();
    for (;;) {
      if (!reader) break;
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > maxBytes) {
        await reader.cancel();
        throw new HttpError(413, 'payload_too_large', `body.url: the document is larger than the limit (${maxBytes} bytes); split it into smaller documents.`, { field: 'body.url', limit: maxBytes });
      }
      chunks.push(Buffer.from(value));
    }
    return { bytes: Buffer.concat(chunks), contentType: response.headers.get('content-type') ?? undefined };
  }

  return [
    defineOperation({
      method: 'get',
      path: '/knowledge-bases',
      operationId: 'listKnowledgeBases',
      summary: 'List the knowledge bases you may open',
      tags,
      auth: 'bearer',
      responses: { 200: { description: 'Knowledge bases by name', schema: knowledgeBaseListSchema } },
      handler: async ({ res, em, principal }) => {
        authorize(principal, 'knowledge:list');
        const bases = await listBases(em, visibleKnowledgeBases(principal));
        res.json({ items: await baseViews(em, principal, bases), total: bases.length });
      },
    }),
    defineOperation({
      method: 'post',
      path: '/knowledge-bases',
      operationId: 'createKnowledgeBase',
      summary: 'Create a knowledge base',
      description: "With `credentialId` (an 'openai' credential: OpenAI, vLLM, Ollama… `/embeddings`) retrieval is hybrid (full text + vectors); without, full text only. Editors and admins create bases and own what they create.",
      tags,
      auth: 'bearer',
      body: createKnowledgeBaseBodySchema,
      responses: { 201: { description: 'The knowledge base', schema: knowledgeBaseSchema } },
      handler: async ({ res, em, body, principal, audit }) => {
        authorize(principal, 'knowledge:create');
        const credentialId = await embeddingCredential(em, principal, body.credentialId);
        const base = await insertBase(em, { name: body.name, description: body.description, credential_id: credentialId ?? null, model: body.model, owner_id: principal.user.id });
        audit({ action: 'knowledge_base.create', targetType: 'knowledge_base', targetId: base.id, summary: { after: { name: base.name, credentialId: base.credential_id, model: base.model } } });
        await em.flush();
        res.status(201).json((await baseViews(em, principal, [base]))[0]);
      },
    }),
    defineOperation({
      method: 'get',
      path: '/knowledge-bases/:id',
      operationId: 'getKnowledgeBase',
      summary: 'One knowledge base',
      tags,
      auth: 'bearer',
      params: idParamsSchema,
      errors: [404],
      responses: { 200: { description: 'The knowledge base', schema: knowledgeBaseSchema } },
      handler: async ({ res, em, params, principal }) => {
        const base = await loadBase(em, principal, params.id, 'knowledge:view');
        res.json((await baseViews(em, principal, [base]))[0]);
      },
    }),
    defineOperation({
      method: 'patch',
      path: '/knowledge-bases/:id',
      operationId: 'updateKnowledgeBase',
      summary: 'Rename a knowledge base or change its embedding credential or model',
      description: 'A new credential or model applies to documents ingested afterwards; upload them again (or re-create the base) to re-embed old ones.',
      tags,
      auth: 'bearer',
      params: idParamsSchema,
      body: updateKnowledgeBaseBodySchema,
      errors: [404],
      responses: { 200: { description: 'The knowledge base', schema: knowledgeBaseSchema } },
      handler: async ({ res, em, params, body, principal, audit }) => {
        const base = await loadBase(em, principal, params.id, 'knowledge:edit');
        const credentialId = await embeddingCredential(em, principal, body.credentialId);
        const updated = await updateBase(em, base.id, { name: body.name, description: body.description, credential_id: credentialId, model: body.model });
        audit({ action: 'knowledge_base.update', targetType: 'knowledge_base', targetId: base.id, summary: { before: { name: base.name, credentialId: base.credential_id, model: base.model }, after: { name: updated.name, credentialId: updated.credential_id, model: updated.model } } });
        await em.flush();
        res.json((await baseViews(em, principal, [updated]))[0]);
      },
    }),
    defineOperation({
      method: 'delete',
      path: '/knowledge-bases/:id',
      operationId: 'deleteKnowledgeBase',
      summary: 'Delete a knowledge base with its documents, chunks and shares',
      tags,
      auth: 'bearer',
      params: idParamsSchema,
      errors: [404],
      responses: { 204: { description: 'Deleted' } },
      handler: async ({ res, em, params, principal, actor }) => {
        const base = await loadBase(em, principal, params.id, 'knowledge:delete');
        await em.transactional(async (tx) => {
          await tx.nativeDelete(GrantSchema, { resourceType: 'knowledge_base', resourceId: base.id });
          await deleteBase(tx, base.id);
          recordAudit(tx, actor, { action: 'knowledge_base.delete', targetType: 'knowledge_base', targetId: base.id, summary: { before: { name: base.name } } });
        });
        res.status(204).end();
      },
    }),
    defineOperation({
      method: 'get',
      path: '/knowledge-bases/:id/documents',
      operationId: 'listKnowledgeDocuments',
      summary: "A knowledge base's documents with their ingestion status",
      tags,
      auth: 'bearer',
      params: idParamsSchema,
      errors: [404],
      responses: { 200: { description: 'Documents by name', schema: knowledgeDocumentListSchema } },
      handler: async ({ res, em, params, principal }) => {
        const base = await loadBase(em, principal, params.id, 'knowledge:view');
        const docs = await listDocuments(em, base.id);
        res.json({ items: docs.map(documentView), total: docs.length });
      },
    }),
    defineOperation({
      method: 'post',
      path: '/knowledge-bases/:id/documents',
      operationId: 'uploadKnowledgeDocument',
      summary: 'Upload a document (txt, md, html, pdf, docx) as the request body; its ingestion starts',
      description: 'The body is the file itself; the format comes from Content-Type (text/plain, text/markdown, text/html, application/pdf, application/vnd.openxmlformats-officedocument.wordprocessingml.document), else from `?name=` or `?format=`. 413 above 20 MB. Answers 202 with the document; follow `status` and `embedded` with GET …/documents/{documentId}.',
      tags,
      auth: 'bearer',
      params: idParamsSchema,
      query: uploadQuerySchema,
      bodyKind: 'raw',
      bodyLimit: DEFAULT_KNOWLEDGE_MAX_DOCUMENT_BYTES * 4,
      errors: [404],
      responses: { 202: { description: 'Stored; ingestion started', schema: knowledgeDocumentSchema } },
      handler: async ({ req, res, em, params, query, principal, audit }) => {
        const base = await loadBase(em, principal, params.id, 'knowledge:edit');
        const content = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const format = pickFormat(query.format, req.headers['content-type'], query.name, 'Content-Type');
        const name = query.name ?? `document.${format}`;
        const { document } = await ingest(em, base, { name, format, sourceUrl: null, content });
        audit({ action: 'knowledge_document.upload', targetType: 'knowledge_base', targetId: base.id, summary: { documentId: document.id, name, format, bytes: content.length, version: document.version } });
        await em.flush();
        res.status(202).json(documentView(document));
      },
    }),
    defineOperation({
      method: 'post',
      path: '/knowledge-bases/:id/documents/from-url',
      operationId: 'fetchKnowledgeDocument',
      summary: 'Add a document fetched from an http(s) address (through the SSRF guard); its ingestion starts',
      tags,
      auth: 'bearer',
      params: idParamsSchema,
      body: fetchDocumentBodySchema,
      errors: [404],
      responses: { 202: { description: 'Stored; ingestion started', schema: knowledgeDocumentSchema } },
      handler: async ({ res, em, params, body, principal, audit }) => {
        const base = await loadBase(em, principal, params.id, 'knowledge:edit');
        const { bytes, contentType } = await fetchUrl(body.url);
        const name = body.name ?? (decodeURIComponent(new URL(body.url).pathname.split('/').pop() ?? '') || new URL(body.url).hostname);
        const format = pickFormat(body.format, contentType, name, 'body.format');
        const { document } = await ingest(em, base, { name, format, sourceUrl: body.url, content: bytes });
        audit({ action: 'knowledge_document.upload', targetType: 'knowledge_base', targetId: base.id, summary: { documentId: document.id, name, format, bytes: bytes.length, url: body.url, version: document.version } });
        await em.flush();
        res.status(202).json(documentView(document));
      },
    }),
    defineOperation({
      method: 'get',
      path: '/knowledge-bases/:id/documents/:documentId',
      operationId: 'getKnowledgeDocument',
      summary: "One document and its ingestion status (status, chunks, embedded)",
      tags,
      auth: 'bearer',
      params: documentParamsSchema,
      errors: [404],
      responses: { 200: { description: 'The document', schema: knowledgeDocumentSchema } },
      handler: async ({ res, em, params, principal }) => {
        const base = await loadBase(em, principal, params.id, 'knowledge:view');
        res.json(documentView(await loadDocument(em, base, params.documentId)));
      },
    }),
    defineOperation({
      method: 'get',
      path: '/knowledge-bases/:id/documents/:documentId/events',
      operationId: 'listKnowledgeIngestEvents',
      summary: "A document's ingestion progress, oldest first: each stage and each embedded batch (embedded / total)",
      tags,
      auth: 'bearer',
      params: documentParamsSchema,
      query: ingestEventsQuerySchema,
      errors: [404],
      responses: { 200: { description: 'The last events of its ingestions', schema: knowledgeIngestEventListSchema } },
      handler: async ({ res, em, params, query, principal }) => {
        const base = await loadBase(em, principal, params.id, 'knowledge:view');
        const doc = await loadDocument(em, base, params.documentId);
        const events = await listIngestEvents(em, doc.id, query.limit);
        res.json({
          items: events.map((e) => ({ version: e.version, stage: e.stage as DocumentStatus, embedded: e.embedded, total: e.total, message: e.message, at: iso(e.created_at) })),
          total: events.length,
        });
      },
    }),
    defineOperation({
      method: 'put',
      path: '/knowledge-bases/:id/documents/:documentId',
      operationId: 'replaceKnowledgeDocument',
      summary: "Replace a document's content; it is re-ingested when the bytes changed",
      description: 'Queries keep searching the previous version until the new one is fully ingested; then the old chunks are removed. Unchanged bytes answer 200 and start nothing.',
      tags,
      auth: 'bearer',
      params: documentParamsSchema,
      query: uploadQuerySchema,
      bodyKind: 'raw',
      bodyLimit: DEFAULT_KNOWLEDGE_MAX_DOCUMENT_BYTES * 4,
      errors: [404],
      responses: { 200: { description: 'Unchanged', schema: knowledgeDocumentSchema }, 202: { description: 'Stored; re-ingestion started', schema: knowledgeDocumentSchema } },
      handler: async ({ req, res, em, params, query, principal, audit }) => {
        const base = await loadBase(em, principal, params.id, 'knowledge:edit');
        const old = await loadDocument(em, base, params.documentId);
        const content = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const format = query.format ?? formatOf(req.headers['content-type'], query.name) ?? (old.format as KnowledgeFormat);
        const { document, changed } = await ingest(em, base, { id: old.id, name: query.name ?? old.name, format, sourceUrl: old.source_url, content });
        if (changed) audit({ action: 'knowledge_document.replace', targetType: 'knowledge_base', targetId: base.id, summary: { documentId: document.id, name: document.name, format, bytes: content.length, version: document.version } });
        await em.flush();
        res.status(changed ? 202 : 200).json(documentView(document));
      },
    }),
    defineOperation({
      method: 'delete',
      path: '/knowledge-bases/:id/documents/:documentId',
      operationId: 'deleteKnowledgeDocument',
      summary: 'Delete a document and its chunks',
      tags,
      auth: 'bearer',
      params: documentParamsSchema,
      errors: [404],
      responses: { 204: { description: 'Deleted' } },
      handler: async ({ res, em, params, principal, audit }) => {
        const base = await loadBase(em, principal, params.id, 'knowledge:edit');
        const doc = await loadDocument(em, base, params.documentId);
        await deleteDocument(em, doc.id);
        audit({ action: 'knowledge_document.delete', targetType: 'knowledge_base', targetId: base.id, summary: { documentId: doc.id, name: doc.name } });
        await em.flush();
        res.status(204).end();
      },
    }),
    defineOperation({
      method: 'post',
      path: '/knowledge-bases/:id/query',
      operationId: 'queryKnowledgeBase',
      summary: 'Test query: the top chunks with citations (hybrid: full text and vectors fused by reciprocal rank)',
      tags,
      auth: 'bearer',
      params: idParamsSchema,
      body: knowledgeQueryBodySchema,
      errors: [404, 502, 503],
      responses: { 200: { description: 'Citations, best first', schema: knowledgeQueryResultSchema } },
      handler: async ({ res, em, params, body, principal }) => {
        const base = await loadBase(em, principal, params.id, 'knowledge:view');
        if (!queryKnowledge) throw new HttpError(503, 'secret_key_missing', 'Querying needs the embedding credential, and this API has no key: set CHAINFLOW_SECRET_KEY and restart it.');
        try {
          const answer = await queryKnowledge(em, { baseId: base.id, query: body.query, limit: body.limit });
          res.json(answer ?? { citations: [], mode: 'text', tookMs: 0 });
        } catch (error) {
          if (error instanceof CredentialError) throw new HttpError(400, error.code, `The base's embedding credential: ${error.message}.`, { field: 'credentialId' });
          if (error instanceof Error && 'type' in error && typeof error.type === 'string' && error.type.startsWith('embeddings_')) throw new HttpError(502, error.type, error.message);
          throw error;
        }
      },
    }),
    defineOperation({
      method: 'get',
      path: '/knowledge-bases/:id/grants',
      operationId: 'listKnowledgeBaseGrants',
      summary: 'Who has access to a knowledge base',
      tags: ['sharing'],
      auth: 'bearer',
      params: idParamsSchema,
      errors: [404],
      responses: { 200: { description: 'Owner first, then grants by e-mail', schema: knowledgeGrantListSchema } },
      handler: async ({ res, em, params, principal }) => {
        const base = await loadBase(em, principal, params.id, 'knowledge:view');
        res.json(await listAccess(em, sharedBase(base)));
      },
    }),
    defineOperation({
      method: 'post',
      path: '/knowledge-bases/:id/grants',
      operationId: 'shareKnowledgeBase',
      summary: 'Share a knowledge base (viewer: query and use in chains; editor: change documents; owner)',
      tags: ['sharing'],
      auth: 'bearer',
      params: idParamsSchema,
      body: shareBodySchema,
      errors: [404, 409],
      responses: { 200: { description: 'The user’s access', schema: knowledgeGrantViewSchema } },
      handler: async ({ res, em, params, body, principal, audit }) => {
        const base = await loadBase(em, principal, params.id, 'knowledge:share');
        res.json(await shareResource(em, principal, sharedBase(base), body, audit));
      },
    }),
    defineOperation({
      method: 'delete',
      path: '/knowledge-bases/:id/grants/:userId',
      operationId: 'unshareKnowledgeBase',
      summary: 'Stop sharing a knowledge base with a user',
      tags: ['sharing'],
      auth: 'bearer',
      params: knowledgeGrantParamsSchema,
      errors: [404, 409],
      responses: { 204: { description: 'Removed' } },
      handler: async ({ res, em, params, principal, audit }) => {
        const base = await loadBase(em, principal, params.id, 'knowledge:share');
        await unshareResource(em, sharedBase(base), params.userId, audit);
        res.status(204).end();
      },
    }),
  ];
}
