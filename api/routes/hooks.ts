import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { Client } from '@temporalio/client';
import { sanitizeForStorage, versionIrOf, type JsonObject } from '../../chain/index.ts';
import { ChainVersionSchema } from '../../db/entities.ts';
import { loadCredential } from '../../db/credential-store.ts';
import type { SecretBox } from '../../lib/secret-box.ts';
import { ChainIdKey, ChannelKey, type dialogue, type DialogueInput } from '../../temporal/contracts.ts';
import { HttpError } from '../errors.ts';
import { defineOperation, type Operation } from './define.ts';
import { storable } from '../schemas/common.ts';
import { findChain } from '../services/chain-service.ts';

export const hookParamsSchema = z.object({
  chainIdOrSlug: storable(z.string().min(1).max(100)),
  hookId: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "Use the hook id of the chain's webhook start node (lowercase letters, digits, '-')"),
});

export interface HookDeps {
  temporal: Client;
  taskQueue: string;
  /** Decrypts the webhook secrets (credentials); without it, hooks with auth answer 503. */
  secretBox?: SecretBox | undefined;
}

/** Constant-time string comparison (of digests, so lengths never leak). */
function safeEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}

/** Headers that are passed to the session as run.headers (never auth headers). */
const PASSED_HEADERS = ['content-type', 'user-agent', 'x-request-id', 'x-github-event', 'x-event-type'];

/**
 * Webhook triggers: `POST /hooks/{chain}/{hookId}` starts a session at the chain's
 * webhook start node with the payload in `run.*`. Auth per the start node: none, a
 * secret header (`X-Chainflow-Secret`), a bearer token, or an HMAC-SHA256 signature of
 * the raw body (`X-Chainflow-Signature: sha256=<hex>`); the secret is a credential.
 * A failed check answers 401 and starts nothing.
 */
export function hookOperations(deps: HookDeps): Operation[] {
  return [
    defineOperation({
      method: 'post',
      path: '/hooks/:chainIdOrSlug/:hookId',
      operationId: 'triggerWebhook',
      summary: "Start a session at a chain's webhook trigger",
      description:
        "Authenticated by the trigger's secret (X-Chainflow-Secret, Authorization: Bearer, or X-Chainflow-Signature: sha256=<HMAC-SHA256 of the raw body>). A JSON payload's fields become run.*; also run.payload, run.query, run.headers.",
      tags: ['triggers'],
      auth: 'public',
      rateLimited: 'hook',
      params: hookParamsSchema,
      bodyKind: 'raw',
      bodyLimit: 256 * 1024,
      errors: [401, 404, 409, 503],
      responses: { 202: { description: 'The session started', schema: z.object({ runId: z.string(), chainId: z.string(), versionId: z.string() }) } },
      handler: async ({ req, res, params, em }) => {
        const chain = await findChain(em, params.chainIdOrSlug);
        if (!chain.activeVersionId) throw new HttpError(409, 'not_published', `Chain "${chain.slug}" has no published version.`);
        const version = await em.findOneOrFail(ChainVersionSchema, { id: chain.activeVersionId });
        const ir = versionIrOf(version);
        const entry = `webhook:${params.hookId}`;
        const nodeId = ir.entries[entry];
        const node = nodeId ? ir.nodes[nodeId] : undefined;
        if (!node || node.type !== 'start' || node.config.trigger.kind !== 'webhook') {
          throw new HttpError(404, 'hook_not_found', `Chain "${chain.slug}" has no webhook "${params.hookId}".`);
        }
        const raw: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const auth = node.config.trigger.auth;
        if (auth.mode !== 'none') {
          const box = deps.secretBox;
          const secret = box && auth.credentialId ? await loadCredential(em, box, auth.credentialId, { as: version.createdBy ?? null }).then((c) => c.value).catch(() => undefined) : undefined;
          if (!secret) throw new HttpError(503, 'hook_secret_missing', `The webhook's credential is missing (or no longer shared with the version's publisher); the chain owner must set it.`);
          const ok =
            auth.mode === 'secret_header'
              ? safeEqual(String(req.get('x-chainflow-secret') ?? ''), secret)
              : auth.mode === 'bearer'
                ? safeEqual(String(req.get('authorization') ?? ''), `Bearer ${secret}`)
                : safeEqual(String(req.get('x-chainflow-signature') ?? ''), `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`);
          if (!ok) {
            const header = auth.mode === 'secret_header' ? 'X-Chainflow-Secret' : auth.mode === 'bearer' ? 'Authorization: Bearer' : 'X-Chainflow-Signature (sha256=HMAC of the raw body)';
            throw new HttpError(401, 'bad_signature', `The webhook's ${header} is missing or wrong; nothing was started.`);
          }
        }

        let payload: unknown = null;
        const text = raw.toString('utf8');
        if (text.trim() !== '') {
          if (/json/.test(req.get('content-type') ?? '')) {
            try {
              payload = JSON.parse(text);
            } catch {
              throw new HttpError(400, 'malformed_json', 'The webhook body is not valid JSON (Content-Type says it is).');
            }
          } else {
            payload = text;
          }
        }
        const headers: JsonObject = {};
        for (const name of PASSED_HEADERS) {
          const value = req.get(name);
          if (value) headers[name] = value;
        }
        const query: JsonObject = {};
        for (const [k, v] of Object.entries(req.query)) if (typeof v === 'string') query[k] = v;
        // Strangers' JSON: code points PostgreSQL cannot store (NUL, lone surrogates) in
        // keys and values are replaced before the payload reaches history (chain/storable.ts).
        const run: JsonObject = sanitizeForStorage({
          ...(payload && typeof payload === 'object' && !Array.isArray(payload) ? (payload as JsonObject) : {}),
          payload: payload as JsonObject,
          query,
          headers,
          hookId: params.hookId,
        });
        const runId = `run:${randomUUID()}`;
        const input: DialogueInput = {
          chainId: chain.id,
          versionId: version.id,
          channel: 'api',
          entry,
          input: run,
          owners: { user: `webhook:${chain.id}:${params.hookId}`, chat: `webhook:${chain.id}:${params.hookId}`, bot: `chain:${chain.id}` },
        };
        await deps.temporal.workflow.start<typeof dialogue>('dialogue', {
          workflowId: runId,
          taskQueue: deps.taskQueue,
          args: [input],
          typedSearchAttributes: [
            { key: ChainIdKey, value: chain.id },
            { key: ChannelKey, value: 'api' },
          ],
        });
        res.status(202).json({ runId, chainId: chain.id, versionId: version.id });
      },
    }),
  ];
}
