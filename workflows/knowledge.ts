import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { KnowledgeActivities } from '../activities/knowledge.ts';

const retry = { initialInterval: '2 seconds', maximumInterval: '2 minutes', backoffCoefficient: 2, maximumAttempts: 10 };

const { knowledgeExtract, knowledgeFinish, knowledgeFail } = proxyActivities<KnowledgeActivities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '2 minutes',
  // 429s come back with the server's Retry-After as nextRetryDelay; other transient errors back off.
  retry,
});

// One /embeddings request (at most 60 s) per attempt, heartbeating every 3 s: a worker
// killed mid-request is noticed after 15 s and the batch retried on another worker.
const { knowledgeEmbed } = proxyActivities<KnowledgeActivities>({ startToCloseTimeout: '2 minutes', heartbeatTimeout: '15 seconds', retry });

export interface IngestInput {
  documentId: string;
  version: number;
}

export interface IngestResult {
  status: 'ready' | 'failed' | 'stale';
  chunks: number;
  message?: string;
}

/** The workflow id of one document version's ingestion (a second start of the same version is refused). */
export const ingestWorkflowId = (documentId: string, version: number) => `knowledge-ingest-${documentId}-v${version}`;

/**
 * Ingests one version of a knowledge document: extract and chunk (one activity), embed in
 * batches (one activity per batch, each embedding only chunks still without a vector),
 * then make the version searchable and drop older versions' chunks. Every step is
 * idempotent, so a worker killed at any point resumes where it stopped without duplicates.
 */
export async function ingestKnowledgeDocument(input: IngestInput): Promise<IngestResult> {
  const startedAt = Date.now();
  try {
    const extracted = await knowledgeExtract(input);
    if (extracted.stale) return { status: 'stale', chunks: 0 };
    for (;;) {
      const step = await knowledgeEmbed(input);
      if (step.stale) return { status: 'stale', chunks: extracted.chunks };
      if (!step.remaining) break;
    }
    const active = await knowledgeFinish({ ...input, startedAt, finishedAt: Date.now() });
    return { status: active ? 'ready' : 'stale', chunks: extracted.chunks };
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof ApplicationFailure ? error.cause : error;
    const message = cause instanceof Error ? cause.message : String(cause);
    await knowledgeFail({ ...input, message });
    return { status: 'failed', chunks: 0, message };
  }
}
