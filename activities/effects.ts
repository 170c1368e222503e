// The contract between the dialogue workflow and the effect activities (httpRequest,
// llmComplete, runCode): what goes in, what comes out, and the small pure helpers every
// effect activity uses to keep secrets out of what it returns.

import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { JsonObject, JsonValue, ReadableScope } from '../chain/index.ts';
import { activityContext } from './activity-context.ts';

/** What the workflow passes to an effect activity. Never carries secrets. */
export interface EffectInput<C> {
  /** Workflow id, e.g. `web:{chainId}:{visitorId}`. */
  runId: string;
  chainId: string;
  nodeId: string;
  /** The node's config from the IR: raw templates, defaults applied. */
  config: C;
  /** Variables snapshot without secrets (message, session, user, chat, bot, run). */
  scope: ReadableScope;
  /**
   * The session's run-event sequence number when the node ran (workflows/session.ts):
   * with `runId` and `nodeId` it names this one call, the same on every retry and replay
   * (see {@link idempotencyKey}). Absent in inputs recorded before it existed.
   */
  seq?: number;
}

/**
 * The `Idempotency-Key` of an effect call: a hash of workflow id, the Temporal run it
 * belongs to, node id and the session's event sequence at that node. Retries of the
 * activity send the same key (same run, same sequence); the next visit of the node (a
 * later seq) a new one, and so does the chat's next session under the same workflow id
 * (a new run, while its sequence starts again — without the run a payment API that
 * remembers keys for a day would answer the second session's order with the first's).
 * Called inside an activity, `execution` defaults to the activity's workflow run id;
 * a direct call (tests, scripts) has none.
 *
 * @example idempotencyKey({ runId: 'web:c:v', nodeId: 'pay', seq: 12 }, 'f1c0…') // 'cf-3b1f…' (32 hex digits)
 */
export function idempotencyKey(input: { runId: string; nodeId: string; seq?: number | undefined }, execution: string | undefined = activityContext()?.info.workflowExecution?.runId): string {
  const parts = [input.runId, input.nodeId, `${input.seq ?? ''}`];
  // Without a run (direct calls) the key stays what it was before runs were part of it.
  if (execution) parts.push(execution);
  return `cf-${createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 32)}`;
}

/** One variable the workflow writes after the activity returns. */
export interface VariableWrite {
  variable: string;
  value: JsonValue;
}

/** A failure the chain routes through the node's `error` port (as `session.error`). */
export interface EffectError {
  /** Stable machine code, e.g. `http_status`, `llm_invalid_json`, `code_timeout`. */
  code: string;
  /** Human-readable, names what failed; never contains a secret. */
  message: string;
  /** HTTP status of the remote answer, when there was one. */
  status?: number;
}

/**
 * The outcome of an effect activity. `ok: false` is a *final* failure (the workflow
 * routes it to the `error` port); transient failures are thrown as retryable
 * `ApplicationFailure`s instead and reach the workflow only when retries are exhausted.
 * `event` is a small summary for the run log; neither it nor `set` contains secrets.
 */
export type EffectResult =
  | { ok: true; set: VariableWrite[]; event?: JsonObject }
  | { ok: false; error: EffectError; set: VariableWrite[] };

/** One earlier exchange of an LLM node, oldest first. */
export interface MemoryTurn {
  role: 'user' | 'assistant';
  content: string;
}

/** A successful result. */
export function effectOk(set: VariableWrite[], event?: JsonObject): EffectResult {
  return event === undefined ? { ok: true, set } : { ok: true, set, event };
}

/** A final failure, routed through the `error` port. */
export function effectError(code: string, message: string, options: { status?: number; set?: VariableWrite[] } = {}): EffectResult {
  // Clipped (~1 KB): the message is stored in workflow history and session.error.
  const error: EffectError = { code, message: clip(message, 1024) };
  if (options.status !== undefined) error.status = options.status;
  return { ok: false, error, set: options.set ?? [] };
}

export { MIN_SECRET_LENGTH } from '../db/credential-store.ts';
import { MIN_SECRET_LENGTH } from '../db/credential-store.ts';

/**
 * The strings to scrub for a set of secret values: each value, plus the encodings in
 * which it commonly travels (URL-encoded, JSON-escaped, base64 and base64url). Longest
 * first, so a secret that contains another is replaced whole. {@link redactText} matches
 * them case-insensitively, so an upper- or lower-cased secret is caught too (the compiler
 * refuses filters on secrets; this is the second line).
 */
export function secretNeedles(values: Iterable<string>): string[] {
  const needles = new Set<string>();
  for (const value of values) {
    if (value.length < MIN_SECRET_LENGTH) continue;
    needles.add(value);
    needles.add(encodeURIComponent(value));
    needles.add(JSON.stringify(value).slice(1, -1));
    needles.add(new URLSearchParams({ v: value }).toString().slice(2));
    const base64 = Buffer.from(value, 'utf8').toString('base64');
    needles.add(base64);
    needles.add(base64.replace(/=+$/, ''));
    needles.add(base64.replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_'));
  }
  return [...needles].filter((needle) => needle.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
}

export const REDACTED = '[redacted]';

const matchers = new Map<string, RegExp>();

/** One case-insensitive pattern for a needle list (cached: activities redact often with the same list). */
function matcherOf(needles: readonly string[]): RegExp {
  const key = needles.join('\u0000');
  let matcher = matchers.get(key);
  if (!matcher) {
    matcher = new RegExp(needles.map((needle) => needle.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'gi');
    if (matchers.size >= 100) matchers.clear();
    matchers.set(key, matcher);
  }
  return matcher;
}

/** Replaces every needle (see {@link secretNeedles}) in a text, ignoring case. */
export function redactText(text: string, needles: readonly string[]): string {
  if (needles.length === 0 || text === '') return text;
  return text.replace(matcherOf(needles), REDACTED);
}

/** Deep copy of a JSON value with every needle removed from strings and object keys. */
export function redactJson<T extends JsonValue>(value: T, needles: readonly string[]): T;
export function redactJson(value: JsonValue, needles: readonly string[]): JsonValue {
  if (needles.length === 0) return value;
  if (typeof value === 'string') return redactText(value, needles);
  if (Array.isArray(value)) return value.map((item) => redactJson(item, needles));
  if (value !== null && typeof value === 'object') {
    const out: JsonObject = {};
    for (const [key, item] of Object.entries(value)) out[redactText(key, needles)] = redactJson(item, needles);
    return out;
  }
  return value;
}

/** The last line of defence: a result with every needle removed (values, event, error). */
export function redactResult<R extends EffectResult>(result: R, needles: readonly string[]): R {
  if (needles.length === 0) return result;
  const set = result.set.map((write) => ({ variable: write.variable, value: redactJson(write.value, needles) }));
  if (result.ok) {
    return { ...result, set, ...(result.event !== undefined ? { event: redactJson(result.event, needles) } : {}) };
  }
  return { ...result, set, error: { ...result.error, message: redactText(result.error.message, needles) } };
}

/** Names of the secrets (`secrets.NAME`) that templates reference, without duplicates. */
export function referencedSecrets(variables: Iterable<string>): string[] {
  const names = new Set<string>();
  for (const variable of variables) {
    const [scope, name] = variable.split('.');
    if (scope === 'secrets' && name !== undefined && name !== '') names.add(name);
  }
  return [...names];
}

/** Shortens a text for messages and events. */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`;
}

/**
 * A transient failure for Temporal to retry (network error, 5xx, 429). `type` becomes
 * the error code the workflow reports when retries run out; the message must already be
 * free of secrets (it is stored in workflow history). No `cause` is attached for the same
 * reason.
 */
export function retryableFailure(type: string, message: string, options: { retryAfterMs?: number; status?: number } = {}): ApplicationFailure {
  return ApplicationFailure.create({
    type,
    message: clip(message, 1024),
    nonRetryable: false,
    // Details reach the workflow with the failure: the status, for session.error.
    details: options.status !== undefined ? [{ status: options.status }] : [],
    ...(options.retryAfterMs !== undefined ? { nextRetryDelay: options.retryAfterMs } : {}),
  });
}

/** Longest Retry-After the activity honours; longer waits are the retry policy's business. */
export const MAX_RETRY_AFTER_MS = 10 * 60_000;

/**
 * Parses a Retry-After header (seconds or an HTTP date) into milliseconds, capped at
 * {@link MAX_RETRY_AFTER_MS}; undefined when absent or unreadable. Also reads
 * `retry-after-ms` (OpenAI-style) when given.
 */
export function parseRetryAfter(retryAfter: string | null | undefined, retryAfterMs?: string | null, now = Date.now()): number | undefined {
  const ms = retryAfterMs != null ? Number(retryAfterMs) : Number.NaN;
  if (Number.isFinite(ms) && ms >= 0) return Math.min(Math.round(ms), MAX_RETRY_AFTER_MS);
  if (retryAfter == null || retryAfter.trim() === '') return undefined;
  const text = retryAfter.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.min(Math.round(Number(text) * 1000), MAX_RETRY_AFTER_MS);
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.min(Math.max(0, date - now), MAX_RETRY_AFTER_MS);
}
