import { z } from 'zod';
import { resourceRoles } from '../../db/accounts.ts';
import { documentStatuses } from '../../db/knowledge.ts';
import { knowledgeFormats } from '../../activities/knowledge-text.ts';
import { dateTime, listOf, uuidSchema } from './common.ts';

export const knowledgeBaseSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    description: z.string(),
    credentialId: z.string().nullable().meta({ description: "The 'openai' (OpenAI-compatible) credential used for embeddings; null: full-text search only" }),
    model: z.string().meta({ description: 'Embedding model name sent to /embeddings' }),
    ownerId: z.uuid().nullable(),
    role: z.enum(resourceRoles),
    documents: z.number().int(),
    chunks: z.number().int(),
    createdAt: dateTime,
    updatedAt: dateTime,
  })
  .meta({ id: 'KnowledgeBase' });
export const knowledgeBaseListSchema = listOf(knowledgeBaseSchema, 'KnowledgeBaseList');

const nameSchema = z.string().trim().min(1).max(200);
const credentialRef = z.string().trim().min(1).max(200).meta({ description: "Id or name of an 'openai' credential you may use" });
const modelSchema = z.string().trim().min(1).max(200);

export const createKnowledgeBaseBodySchema = z
  .strictObject({
    name: nameSchema,
    description: z.string().max(2000).default(''),
    credentialId: credentialRef.nullable().default(null),
    model: modelSchema.default('text-embedding-3-small'),
  })
  .meta({ id: 'CreateKnowledgeBaseRequest' });

export const updateKnowledgeBaseBodySchema = z
  .strictObject({
    name: nameSchema.optional(),
    description: z.string().max(2000).optional(),
    credentialId: credentialRef.nullable().optional(),
    model: modelSchema.optional(),
  })
  .meta({ id: 'UpdateKnowledgeBaseRequest' });

export const knowledgeDocumentSchema = z
  .object({
    id: z.uuid(),
    baseId: z.uuid(),
    name: z.string(),
    format: z.enum(knowledgeFormats),
    sourceUrl: z.string().nullable(),
    sha256: z.string(),
    version: z.number().int().meta({ description: 'Goes up when new content is uploaded' }),
    readyVersion: z.number().int().nullable().meta({ description: 'The version queries search (null until the first ingestion finishes)' }),
    status: z.enum(documentStatuses),
    error: z.string().nullable(),
    chunks: z.number().int(),
    embedded: z.number().int().meta({ description: 'Chunks of this version embedded so far (progress)' }),
    ingestionMs: z.number().int().nullable(),
    workflowId: z.string().nullable().meta({ description: 'The Temporal workflow ingesting this version' }),
    createdAt: dateTime,
    updatedAt: dateTime,
  })
  .meta({ id: 'KnowledgeDocument' });
export const knowledgeDocumentListSchema = listOf(knowledgeDocumentSchema, 'KnowledgeDocumentList');

export const knowledgeIngestEventSchema = z
  .object({
    version: z.number().int(),
    stage: z.enum(documentStatuses).meta({ description: 'The stage reached: extracting, embedding (once per stored batch), ready or failed' }),
    embedded: z.number().int().meta({ description: 'Chunks of the version embedded at that moment' }),
    total: z.number().int().meta({ description: "The version's chunks (0 until extracted)" }),
    message: z.string().nullable().meta({ description: 'Why it failed (stage failed)' }),
    at: dateTime,
  })
  .meta({ id: 'KnowledgeIngestEvent' });
export const knowledgeIngestEventListSchema = listOf(knowledgeIngestEventSchema, 'KnowledgeIngestEventList');
export const ingestEventsQuerySchema = z.strictObject({ limit: z.coerce.number().int().min(1).max(1000).default(200).meta({ description: 'The last N events (default 200)' }) });

export const documentParamsSchema = z.strictObject({ id: uuidSchema, documentId: uuidSchema });
export const knowledgeGrantParamsSchema = z.strictObject({ id: uuidSchema, userId: uuidSchema });

export const uploadQuerySchema = z.strictObject({
  name: z.string().trim().min(1).max(300).optional().meta({ description: 'File name (its extension names the format when the Content-Type does not)' }),
  format: z.enum(knowledgeFormats).optional().meta({ description: 'Overrides the format taken from Content-Type and name' }),
});

export const fetchDocumentBodySchema = z
  .strictObject({
    url: z.url({ protocol: /^https?$/ }).max(2000).meta({ description: 'http(s) address fetched through the SSRF guard' }),
    name: z.string().trim().min(1).max(300).optional(),
    format: z.enum(knowledgeFormats).optional(),
  })
  .meta({ id: 'FetchKnowledgeDocumentRequest' });

export const knowledgeQueryBodySchema = z
  .strictObject({
    query: z.string().trim().min(1).max(2000),
    limit: z.number().int().min(1).max(50).default(5),
  })
  .meta({ id: 'KnowledgeQueryRequest' });

export const citationSchema = z
  .object({
    documentId: z.uuid(),
    document: z.string(),
    chunkId: z.string(),
    ordinal: z.number().int(),
    heading: z.string(),
    text: z.string(),
    score: z.number().meta({ description: 'Reciprocal rank fusion score' }),
    similarity: z.number().nullable(),
    textRank: z.number().nullable(),
  })
  .meta({ id: 'KnowledgeCitation' });

export const knowledgeQueryResultSchema = z
  .object({ citations: z.array(citationSchema), mode: z.enum(['hybrid', 'text']), tookMs: z.number() })
  .meta({ id: 'KnowledgeQueryResult' });

export const knowledgeGrantViewSchema = z
  .object({
    userId: z.uuid(),
    email: z.string(),
    name: z.string(),
    role: z.enum(resourceRoles),
    source: z.enum(['owner', 'grant']),
    createdAt: dateTime.nullable(),
  })
  .meta({ id: 'KnowledgeBaseGrant' });
export const knowledgeGrantListSchema = listOf(knowledgeGrantViewSchema, 'KnowledgeBaseGrantList');
