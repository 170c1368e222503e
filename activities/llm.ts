// The LLM node's side effect: one chat completion on an OpenAI-compatible API (OpenAI,
// OpenRouter, vLLM, Ollama) through the official `openai` client.

import type { MikroORM } from '@mikro-orm/postgresql';
import { ApplicationFailure } from '@temporalio/common';
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type { ChatCompletionCreateParamsBase, ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { z } from 'zod';
import { renderTemplate, type JsonObject, type JsonValue, type ReadableScope } from '../chain/index.ts';
import type { LlmConfig } from '../chain/nodes/llm.ts';
import type { Logger } from '../lib/logger.ts';
import type { SecretBox } from '../lib/secret-box.ts';
import { cancellationSignal, heartbeat } from './activity-context.ts';
import { CredentialError, credentialUseFor, loadCredential, type DecryptedCredential } from '../db/credential-store.ts';
import {
  clip,
  effectError,
  idempotencyKey,
  parseRetryAfter,
  redactResult,
  redactText,
  retryableFailure,
  secretNeedles,
  type EffectInput,
  type EffectResult,
  type MemoryTurn,
} from './effects.ts';
import { createSsrfGuard, findSsrfError, guardedFetch, GuardedRedirectError, outboundUrlProblem, type SsrfOptions } from './ssrf.ts';

export const DEFAULT_OPENAI_BASE_URL = 'https://api.openai.com/v1';

/** What {@link createLlmActivities} needs. */
export interface LlmDeps {
  orm: MikroORM;
  logger: Logger;
  secretBox: SecretBox;
  /** The HTTP node's SSRF allow-list and resolver: the provider's base URL is reached through the same guard. */
  ssrf?: Pick<SsrfOptions, 'allow' | 'resolver'>;
  llm?: {
    /** Per request; default 90 s. The activity's start-to-close timeout must be longer. */
    timeoutMs?: number;
  };
}

/** llmComplete's input: the node's effect input plus the node's earlier exchanges. */
export type LlmInput = EffectInput<LlmConfig> & { memory: MemoryTurn[] };

const JSON_HINT = 'Answer with a single JSON value only, no prose and no code fences.';

/** Strips a Markdown code fence some models put around JSON despite being told not to. */
export function unfence(text: string): string {
  const match = /^\s*```[a-zA-Z]*\s*\n([\s\S]*?)\n?\s*```\s*$/.exec(text);
  return (match?.[1] ?? text).trim();
}

type SchemaCheck = { ok: true; schema: z.ZodType | undefined } | { ok: false; message: string };

function compileSchema(schema: Record<string, JsonValue> | undefined): SchemaCheck {
  if (schema === undefined || Object.keys(schema).length === 0) return { ok: true, schema: undefined };
  try {
    return { ok: true, schema: z.fromJSONSchema(schema) };
  } catch (error) {
    return { ok: false, message: `The output JSON Schema cannot be used: ${error instanceof Error ? error.message : String(error)}` };
  }
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.length > 0 ? `$.${issue.path.join('.')}` : '$'}: ${issue.message}`)
    .join('; ');
}

function usageOf(usage: { prompt_tokens?: number; completion_tokens?: number; total_tokens?: number } | null | undefined): JsonObject | null {
  if (!usage) return null;
  return { promptTokens: usage.prompt_tokens ?? null, completionTokens: usage.completion_tokens ?? null, totalTokens: usage.total_tokens ?? null };
}

interface Completion {
  text: string;
  finishReason: string | null;
  usage: JsonObject | null;
  model: string | null;
}

/**
 * Creates the `llmComplete` activity.
 *
 * - The credential (kind `openai`) gives base URL and API key; `meta.stream: true` makes
 *   the call stream (heartbeating per chunk, so a stuck stream is noticed).
 * - Messages: the rendered system prompt, the `memory` turns from the workflow, the
 *   rendered prompt. Output `text` → the reply; output `json` → the parsed reply, checked
 *   against the node's JSON Schema (zod's fromJSONSchema).
 * - 429, 5xx, network errors and timeouts → retryable failure (Retry-After honoured);
 *   other 4xx → `{ ok: false }` (`llm_bad_request`, `llm_unauthorized`, `llm_not_found`,
 *   `llm_status`); an unusable reply → `llm_invalid_json`, `llm_empty_reply`.
 * - The API key never appears in the result, failures or logs.
 */
export function createLlmActivities(deps: LlmDeps) {
  const timeoutMs = deps.llm?.timeoutMs ?? 90_000;
  const ssrf: SsrfOptions = { allow: deps.ssrf?.allow ?? [], ...(deps.ssrf?.resolver ? { resolver: deps.ssrf.resolver } : {}) };
  const guard = createSsrfGuard(ssrf);
  const fetch = guardedFetch(guard);

  async function complete(client: OpenAI, params: ChatCompletionCreateParamsBase, stream: boolean, signal: AbortSignal | undefined, key: string): Promise<Completion> {
    const options = { headers: { 'Idempotency-Key': key }, ...(signal ? { signal } : {}) };
    if (!stream) {
      const response = await client.chat.completions.create({ ...params, stream: false }, options);
      const choice = response.choices[0];
      return { text: choice?.message.content ?? '', finishReason: choice?.finish_reason ?? null, usage: usageOf(response.usage), model: response.model ?? null };
    }
    const chunks = await client.chat.completions.create({ ...params, stream: true, stream_options: { include_usage: true } }, options);
    let text = '';
    let finishReason: string | null = null;
    let usage: JsonObject | null = null;
    let model: string | null = null;
    let count = 0;
    for await (const chunk of chunks) {
      const choice = chunk.choices[0];
      text += choice?.delta.content ?? '';
      finishReason = choice?.finish_reason ?? finishReason;
      usage = usageOf(chunk.usage) ?? usage;
      model = chunk.model ?? model;
      heartbeat({ chunks: ++count });
    }
    return { text, finishReason, usage, model };
  }

  async function llmComplete(input: LlmInput): Promise<EffectResult> {
    const { config } = input;
    const { secrets: _never, ...scope }: ReadableScope = input.scope;
    const log = deps.logger.child({ runId: input.runId, chainId: input.chainId, nodeId: input.nodeId, activity: 'llmComplete' });

    let credential: DecryptedCredential;
    try {
      // Checked for the version's publisher at every use: revoking their access stops old versions too.
      const use = await credentialUseFor(deps.orm.em, { sourceVersionId: (config as { sourceVersionId?: unknown }).sourceVersionId, runId: input.runId });
      credential = await loadCredential(deps.orm.em, deps.secretBox, config.credentialId, use);
    } catch (error) {
      if (error instanceof CredentialError) return effectError(error.code, error.message);
      throw error;
    }
    if (credential.kind !== 'openai') {
      return effectError('credential_invalid', `Credential '${credential.name}' is a '${credential.kind}' credential; the LLM node needs an 'openai' (OpenAI-compatible provider) credential`);
    }
    const needles = secretNeedles([credential.value]);
    const redact = (text: string): string => redactText(text, needles);
    const finish = (result: EffectResult): EffectResult => redactResult(result, needles);

    const schema = config.output.kind === 'json' ? compileSchema(config.output.schema) : ({ ok: true, schema: undefined } as const);
    if (!schema.ok) return effectError('llm_schema_invalid', schema.message);

    const system = renderTemplate(config.system, scope).trim();
    const prompt = renderTemplate(config.prompt, scope);
    const messages: ChatCompletionMessageParam[] = [];
    const systemText = config.output.kind === 'json' ? [system, JSON_HINT].filter((part) => part !== '').join('\n\n') : system;
    if (systemText !== '') messages.push({ role: 'system', content: systemText });
    // The workflow sends the node's last turns; keep at most what the node asks for.
    const keep = config.memory.turns * 2;
    for (const turn of keep > 0 ? input.memory.slice(-keep) : []) messages.push({ role: turn.role, content: turn.content });
    messages.push({ role: 'user', content: prompt });

    const baseURL = credential.meta.baseUrl ?? DEFAULT_OPENAI_BASE_URL;
    // Checked again at call time (the allow-list may have changed since the credential was
    // saved); names are judged by the guard's connector when it resolves them.
    const baseProblem = await outboundUrlProblem(baseURL, { ...ssrf, resolveNames: false });
    if (baseProblem !== undefined) return effectError('llm_ssrf_blocked', `The base URL of credential '${credential.name}' ${baseProblem}`);
    const isOpenAi = new URL(baseURL).hostname === 'api.openai.com';
    const params: ChatCompletionCreateParamsBase = {
      model: config.model,
      messages,
      temperature: config.temperature,
      // OpenAI's own API wants max_completion_tokens (reasoning models refuse max_tokens);
      // compatible servers (vLLM, Ollama, OpenRouter) know max_tokens.
      ...(isOpenAi ? { max_completion_tokens: config.maxTokens } : { max_tokens: config.maxTokens }),
    };
    if (config.output.kind === 'json') {
      params.response_format =
        config.output.schema !== undefined && Object.keys(config.output.schema).length > 0
          ? { type: 'json_schema', json_schema: { name: 'output', schema: config.output.schema, strict: false } }
          : { type: 'json_object' };
    }

    const client = new OpenAI({
      apiKey: credential.value,
      baseURL,
      organization: credential.meta.organization ?? null,
      project: credential.meta.project ?? null,
      maxRetries: 0,
      timeout: timeoutMs,
      logLevel: 'off',
      fetch,
    });
    const stream = credential.meta.stream === true;
    const where = `model '${config.model}' at ${new URL(baseURL).host}`;
    const started = Date.now();
    let completion: Completion;
    try {
      completion = await complete(client, params, stream, cancellationSignal(), idempotencyKey(input));
    } catch (error) {
      if (error instanceof APIUserAbortError) throw error;
      // Refused by the guard (a private target, or a redirect to one): final, and nothing
      // of what such a target would answer comes back.
      const blocked = findSsrfError(error);
      if (blocked) {
        log.warn({ host: blocked.host, address: blocked.address, reason: blocked.reason }, 'llm request blocked by the SSRF guard');
        return finish(effectError('llm_ssrf_blocked', redact(`${where}: ${blocked.message}`)));
      }
      const redirect = error instanceof Error && error.cause instanceof GuardedRedirectError ? error.cause : undefined;
      if (redirect) return finish(effectError('llm_redirect', redact(`${where}: ${redirect.message}`)));
      if (error instanceof APIConnectionTimeoutError) {
        log.warn({ model: config.model }, 'llm request timed out');
        throw retryableFailure('llm_timeout', `${where} did not answer within ${timeoutMs} ms`);
      }
      if (error instanceof APIConnectionError) {
        const message = redact(`${where} could not be reached: ${error.cause instanceof Error ? error.cause.message : error.message}`);
        log.warn({ model: config.model, err: message }, 'llm request failed');
        throw retryableFailure('llm_network', message);
      }
      if (error instanceof APIError && typeof error.status === 'number') {
        const status = error.status;
        const detail = redact(clip(error.message.replace(/^\d{3}\s*/, ''), 300));
        log.warn({ model: config.model, status }, 'llm request rejected');
        if (status === 429 || status >= 500) {
          const retryAfterMs = parseRetryAfter(error.headers?.get('retry-after'), error.headers?.get('retry-after-ms'));
          const code = status === 429 ? 'llm_rate_limited' : 'llm_server_error';
          throw retryableFailure(code, `${where} answered ${status}: ${detail}`, { status, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
        }
        const code = status === 400 || status === 422 ? 'llm_bad_request' : status === 401 || status === 403 ? 'llm_unauthorized' : status === 404 ? 'llm_not_found' : 'llm_status';
        const hint = code === 'llm_unauthorized' ? ` (check the API key of credential '${credential.name}')` : code === 'llm_not_found' ? ' (check the model name and the base URL)' : '';
        return finish(effectError(code, `${where} answered ${status}: ${detail}${hint}`, { status }));
      }
      if (error instanceof ApplicationFailure) throw error;
      // A broken stream or an unreadable answer: a provider hiccup, worth retrying.
      const message = redact(`${where} failed: ${error instanceof Error ? error.message : String(error)}`);
      log.warn({ model: config.model, err: message }, 'llm request failed');
      throw retryableFailure('llm_network', message);
    }

    const event: JsonObject = {
      model: completion.model ?? config.model,
      usage: completion.usage,
      finishReason: completion.finishReason,
      streamed: stream,
      ms: Date.now() - started,
    };
    log.info({ model: event.model, usage: completion.usage, finishReason: completion.finishReason, streamed: stream }, 'llm completion done');

    let value: JsonValue = completion.text;
    if (config.output.kind === 'json') {
      let parsed: JsonValue;
      try {
        parsed = JSON.parse(unfence(completion.text)) as JsonValue;
      } catch {
        const cut = completion.finishReason === 'length' ? ` (the reply was cut at ${config.maxTokens} tokens; raise Max tokens)` : '';
        return finish(effectError('llm_invalid_json', `${where} replied with text that is not JSON${cut}: ${clip(completion.text.replace(/\s+/g, ' '), 200)}`));
      }
      if (schema.schema) {
        const check = schema.schema.safeParse(parsed);
        if (!check.success) {
          return finish(effectError('llm_invalid_json', `${where} replied with JSON that does not match the schema: ${describeIssues(check.error)}`));
        }
      }
      value = parsed;
    } else if (completion.text.trim() === '') {
      return finish(effectError('llm_empty_reply', `${where} replied with no text${completion.finishReason ? ` (finish reason: ${completion.finishReason})` : ''}`));
    }
    return finish({ ok: true, set: [{ variable: config.variable, value }], event });
  }

  return { llmComplete };
}

export type LlmActivities = ReturnType<typeof createLlmActivities>;
