// Knowledge bases, the side effects: ingestion activities (extract → chunk → embed →
// store, called by workflows/knowledge.ts) and the query used by the API's test query,
// the knowledge node and the agent's search_knowledge tool.
//
// Embeddings go to an OpenAI-compatible `POST {baseUrl}/embeddings` (OpenAI, vLLM,
// Ollama, LM Studio…) with an `openai` credential, through the SSRF guard. A 429 becomes a
// retryable failure whose nextRetryDelay is the server's Retry-After.

import { performance } from 'node:perf_hooks';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { ApplicationFailure } from '@temporalio/common';
import { CredentialError, credentialUseFor, loadCredential } from '../db/credential-store.ts';
import {
  activateVersion,
  chunksToEmbed,
  documentById,
  findBase,
  searchBase,
  setProgress,
  storeChunks,
  storeEmbeddings,
  type Citation,
  type SearchOptions,
} from '../db/knowledge.ts';
import type { Logger } from '../lib/logger.ts';
import type { SecretBox } from '../lib/secret-box.ts';
import { heartbeat } from './activity-context.ts';
import { clip, parseRetryAfter, retryableFailure } from './effects.ts';
import { chunkId, chunkText, ExtractError, extractText, normalize, type KnowledgeFormat } from './knowledge-text.ts';
import { DEFAULT_OPENAI_BASE_URL } from './llm.ts';
import { createSsrfGuard, findSsrfError, guardedFetch, type SsrfOptions } from './ssrf.ts';

export interface KnowledgeDeps {
  orm: MikroORM;
  logger: Logger;
  secretBox: SecretBox;
  ssrf?: Pick<SsrfOptions, 'allow' | 'resolver'>;
  /** Inputs per /embeddings request; default 64. */
  embeddingBatch?: number;
}

export interface IngestStep {
  documentId: string;
  version: number;
}

/** Thrown for problems no retry fixes (a bad file, a missing credential, a refused request). */
function final(type: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message: clip(message, 1024), nonRetryable: true });
}

export interface EmbeddingTarget {
  baseUrl: string;
  apiKey: string;
  model: string;
  /** The credential's name, for messages. */
  name: string;
}

/** The embedding endpoint of a base, checked for the base's owner; throws CredentialError or a final failure. */
export async function embeddingTarget(em: EntityManager, secretBox: SecretBox, base: { credential_id: string | null; model: string; owner_id: string | null }): Promise<EmbeddingTarget | null> {
  if (!base.credential_id) return null;
  const credential = await loadCredential(em, secretBox, base.credential_id, { as: base.owner_id });
  if (credential.kind !== 'openai') throw new CredentialError('credential_invalid', `Credential '${credential.name}' is a '${credential.kind}' credential; embeddings need an 'openai' (OpenAI-compatible) credential`);
  return { baseUrl: credential.meta.baseUrl ?? DEFAULT_OPENAI_BASE_URL, apiKey: credential.value, model: base.model, name: credential.name };
}

/** A client for `/embeddings`, sharing one SSRF guard. */
export function createEmbedder(ssrf: Pick<SsrfOptions, 'allow' | 'resolver'> | undefined) {
  const guard = createSsrfGuard({ allow: ssrf?.allow ?? [], ...(ssrf?.resolver ? { resolver: ssrf.resolver } : {}) });
  const fetch = guardedFetch(guard);
  return async function embed(target: EmbeddingTarget, inputs: readonly string[]): Promise<number[][]> {
    const url = `${target.baseUrl.replace(/\/+$/, '')}/embeddings`;
    const where = `embedding model '${target.model}' at ${new URL(url).host}`;
    let response: Response;
    try {
      response = (await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${target.apiKey}` },
        body: JSON.stringify({ model: target.model, input: inputs, encoding_format: 'float' }),
        signal: AbortSignal.timeout(60_000),
      })) as unknown as Response;
    } catch (error) {
      const blocked = findSsrfError(error);
      if (blocked) throw final('embeddings_ssrf_blocked', `${where}: ${blocked.message}`);
      throw retryableFailure('embeddings_unreachable', `${where} could not be reached: ${error instanceof Error ? error.message : String(error)}`);
    }
    const body = await response.text();
    if (response.status === 429 || response.status >= 500) {
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), response.headers.get('retry-after-ms'));
      throw retryableFailure(response.status === 429 ? 'embeddings_rate_limited' : 'embeddings_server_error', `${where} answered ${response.status}: ${clip(body, 300)}`, {
        status: response.status,
        ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      });
    }
    if (!response.ok) throw final('embeddings_refused', `${where} answered ${response.status}: ${clip(body.replaceAll(target.apiKey, '[redacted]'), 300)}`);
    let parsed: { data?: { index?: number; embedding?: unknown }[] };
    try {
      parsed = JSON.parse(body) as typeof parsed;
    } catch {
      throw final('embeddings_bad_answer', `${where} answered with something that is not JSON`);
    }
    const data = parsed.data ?? [];
    if (data.length !== inputs.length) throw final('embeddings_bad_answer', `${where} returned ${data.length} embeddings for ${inputs.length} inputs`);
    const out: number[][] = new Array<number[]>(inputs.length);
    data.forEach((item, i) => {
      const vector = item.embedding;
      if (!Array.isArray(vector) || vector.length === 0 || !vector.every((x) => typeof x === 'number' && Number.isFinite(x))) throw final('embeddings_bad_answer', `${where} returned an embedding that is not a list of numbers`);
      out[item.index ?? i] = normalize(vector as number[]);
    });
    return out;
  };
}

/** How often the embed activity heartbeats while it waits for the embeddings server. */
const EMBED_HEARTBEAT_MS = 3_000;

/** The text embedded for a chunk: its headings give the context. */
const embeddingText = (chunk: { heading: string; text: string }) => (chunk.heading ? `${chunk.heading}\n\n${chunk.text}` : chunk.text);

export function createKnowledgeActivities(deps: KnowledgeDeps) {
  const embed = createEmbedder(deps.ssrf);
  const batch = deps.embeddingBatch ?? 64;
  const conn = () => deps.orm.em.fork().getConnection();

  return {
    searchKnowledge: createKnowledgeToolActivity(deps),
    /** Extracts and chunks one document version and stores its chunks (ids are deterministic: a retry adds nothing). */
    async knowledgeExtract(step: IngestStep): Promise<{ chunks: number; stale: boolean }> {
      const c = conn();
      const doc = await documentById(c, step.documentId);
      if (!doc || doc.version !== step.version) return { chunks: 0, stale: true };
      await setProgress(c, doc.id, step.version, { status: 'extracting' });
      let text: string;
      try {
        text = await extractText(doc.content, doc.format as KnowledgeFormat);
      } catch (error) {
        if (error instanceof ExtractError) throw final('document_unreadable', error.message);
        throw error;
      }
      const chunks = chunkText(text).map((chunk) => ({ ...chunk, id: chunkId(doc.id, step.version, chunk.ordinal) }));
      if (chunks.length === 0) throw final('document_empty', `Document '${doc.name}' has no text to index (a scanned pdf needs OCR first)`);
      await storeChunks(c, doc.base_id, doc.id, step.version, chunks);
      await setProgress(c, doc.id, step.version, { status: 'embedding', chunkCount: chunks.length });
      return { chunks: chunks.length, stale: false };
    },

    /** Embeds the next batch of chunks still without an embedding; `remaining` false when all have one. */
    async knowledgeEmbed(step: IngestStep): Promise<{ embedded: number; remaining: boolean; stale: boolean }> {
      const c = conn();
      const doc = await documentById(c, step.documentId);
      if (!doc || doc.version !== step.version) return { embedded: 0, remaining: false, stale: true };
      const base = await findBase(deps.orm.em.fork(), doc.base_id);
      if (!base) return { embedded: 0, remaining: false, stale: true };
      let target: EmbeddingTarget | null;
      try {
        target = await embeddingTarget(deps.orm.em, deps.secretBox, base);
      } catch (error) {
        if (error instanceof CredentialError) throw final(error.code, error.message);
        throw error;
      }
      // A base without an embedding credential is searched by full text only.
      if (!target) return { embedded: 0, remaining: false, stale: false };
      const unembedded = await chunksToEmbed(c, doc.id, step.version, batch);
      if (unembedded.length === 0) return { embedded: 0, remaining: false, stale: false };
      // Heartbeats while the request runs: a worker that dies mid-request is noticed within
      // the embed activity's heartbeat timeout (workflows/knowledge.ts), not its start-to-close.
      heartbeat({ chunks: unembedded.length });
      const beating = setInterval(() => heartbeat({ chunks: unembedded.length }), EMBED_HEARTBEAT_MS);
      let vectors: number[][];
      try {
        vectors = await embed(target, unembedded.map(embeddingText));
      } finally {
        clearInterval(beating);
      }
      await storeEmbeddings(
        c,
        doc.base_id,
        unembedded.map((chunk, i) => ({ id: chunk.id, embedding: vectors[i]! })),
      );
      await setProgress(c, doc.id, step.version, {});
      return { embedded: unembedded.length, remaining: unembedded.length === batch, stale: false };
    },

    /** Makes the version searchable and removes older versions' chunks. */
    async knowledgeFinish(step: IngestStep & { startedAt: number; finishedAt: number }): Promise<boolean> {
      return activateVersion(conn(), step.documentId, step.version, Math.max(0, Math.round(step.finishedAt - step.startedAt)));
    },

    /** Records why an ingestion failed (the previous ready version stays searchable). */
    async knowledgeFail(step: IngestStep & { message: string }): Promise<void> {
      await setProgress(conn(), step.documentId, step.version, { status: 'failed', error: clip(step.message, 1000) });
    },
  };
}

export type KnowledgeActivities = ReturnType<typeof createKnowledgeActivities>;

export interface KnowledgeToolInput {
  baseId: string;
  query: string;
  limit?: number;
  /**
   * The user the chain version was published by: they must be able to open the base (null:
   * the installation itself). Without it the publisher is looked up from `sourceVersionId`
   * (stamped on knowledge and agent nodes at publish), else from the run's version.
   */
  as?: string | null;
  /** The run (workflow id) calling, when `as` is not given. */
  runId?: string;
  /** The chain version the calling node was published in, when `as` is not given. */
  sourceVersionId?: string;
}

/**
 * What the agent's `search_knowledge` tool and the knowledge node call (as an activity):
 * the top chunks with citations, and the same as text framed for a model. Never throws
 * for a missing base, a base not shared with the publisher or an embeddings failure: the
 * answer says what went wrong (`ok: false`).
 */
export function createKnowledgeToolActivity(deps: Pick<KnowledgeDeps, 'orm' | 'secretBox' | 'ssrf'>) {
  const queryKnowledge = createKnowledgeSearch(deps);
  return async function searchKnowledge(input: KnowledgeToolInput): Promise<{ ok: boolean; citations: Citation[]; text: string; error?: { code: string; message: string } }> {
    const em = deps.orm.em.fork();
    const fail = (code: string, message: string) => ({ ok: false, citations: [], text: `error ${code}: ${message}`, error: { code, message } });
    const base = await findBase(em, input.baseId);
    if (!base) return fail('knowledge_base_missing', `Knowledge base '${input.baseId}' does not exist; pick an existing base (GET /api/v1/knowledge-bases)`);
    let as = input.as;
    if (as === undefined) {
      const use = input.runId !== undefined ? await credentialUseFor(deps.orm.em, { sourceVersionId: input.sourceVersionId, runId: input.runId }) : undefined;
      if (!use) return fail('knowledge_base_forbidden', `Knowledge base '${base.name}': the chain version asking is unknown, so its publisher's access cannot be checked; publish the chain`);
      as = use.as;
    }
    if (as !== null && base.owner_id !== as) {
      const [allowed] = await em.getConnection().execute<{ n: number }[]>(
        `select count(*)::int as n from app_user u where u.id = ? and (u.role = 'admin' or exists (select 1 from access_grant g where g.user_id = u.id and g.resource_type = 'knowledge_base' and g.resource_id = ?))`,
        [as, base.id],
      );
      if (!allowed || allowed.n === 0) return fail('knowledge_base_forbidden', `Knowledge base '${base.name}' is not shared with the user who published this chain version; share it with them (viewer)`);
    }
    try {
      const answer = await queryKnowledge(em, { baseId: base.id, query: input.query, limit: input.limit ?? 5 });
      const citations = answer?.citations ?? [];
      const text = citations.length === 0 ? 'No matching passages.' : citations.map((c, i) => `[${i + 1}] ${c.document}${c.heading ? ` › ${c.heading}` : ''} (chunk ${c.ordinal})\n${c.text}`).join('\n\n');
      return { ok: true, citations, text };
    } catch (error) {
      if (error instanceof CredentialError) return fail(error.code, error.message);
      if (error instanceof ApplicationFailure && error.type?.startsWith('embeddings_') && error.nonRetryable) return fail(error.type, error.message);
      throw error;
    }
  };
}

export interface KnowledgeQuery {
  baseId: string;
  query: string;
  limit?: number;
  vector?: SearchOptions['vector'];
}

export interface KnowledgeAnswer {
  citations: Citation[];
  /** Which lists were used: `hybrid` (text + vectors) or `text` (no embedding credential). */
  mode: 'hybrid' | 'text';
  tookMs: number;
}

/**
 * Searches a base: embeds the query with the base's model (when it has a credential) and
 * fuses full-text and vector lists. For the API's test query, the knowledge node and the
 * agent's search_knowledge tool. Throws CredentialError or an ApplicationFailure from the
 * embeddings client; returns null when the base does not exist.
 */
export function createKnowledgeSearch(deps: Pick<KnowledgeDeps, 'secretBox' | 'ssrf'>) {
  const embed = createEmbedder(deps.ssrf);
  return async function queryKnowledge(em: EntityManager, input: KnowledgeQuery): Promise<KnowledgeAnswer | null> {
    const started = performance.now();
    const base = await findBase(em, input.baseId);
    if (!base) return null;
    const target = await embeddingTarget(em, deps.secretBox, base);
    const vector = target && input.query.trim() ? ((await embed(target, [input.query]))[0] ?? null) : null;
    const citations = await searchBase(em.getConnection(), base.id, input.query, vector, { limit: input.limit ?? 5, ...(input.vector ? { vector: input.vector } : {}) });
    return { citations, mode: vector ? 'hybrid' : 'text', tookMs: performance.now() - started };
  };
}
