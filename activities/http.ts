// The HTTP node's side effect: render the request (with secrets), send it through the
// SSRF guard, follow redirects hop by hop, map the response into variables.

import type { MikroORM } from '@mikro-orm/postgresql';
import { ApplicationFailure } from '@temporalio/common';
import { fetch, Headers, type Response } from 'undici';
import { parseTemplate, readJsonPath, renderTemplate, type JsonObject, type JsonValue, type ReadableScope } from '../chain/index.ts';
import type { HttpConfig } from '../chain/nodes/http.ts';
import type { Logger } from '../lib/logger.ts';
import type { SecretBox } from '../lib/secret-box.ts';
import { activityContext, cancellationSignal } from './activity-context.ts';
import { claimHttpAttempt, httpAttemptKey, settleHttpAttempt } from '../db/http-attempts.ts';
import { CredentialError, credentialSecretValues, credentialUseFor, loadCredential, resolveSecrets, type DecryptedCredential } from '../db/credential-store.ts';
import {
  clip,
  effectError,
  effectOk,
  idempotencyKey,
  parseRetryAfter,
  redactResult,
  redactText,
  referencedSecrets,
  retryableFailure,
  secretNeedles,
  type EffectInput,
  type EffectResult,
  type VariableWrite,
} from './effects.ts';
import { decodeBody, renderBody, renderJsonTemplate, type RequestBody } from './http-body.ts';
import { createSsrfGuard, findSsrfError, SsrfBlockedError, type Resolver } from './ssrf.ts';

export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;
export const MAX_REDIRECTS = 5;

/** What {@link createHttpActivities} needs. */
export interface HttpDeps {
  orm: MikroORM;
  logger: Logger;
  secretBox: SecretBox;
  ssrf?: {
    /** CIDRs, addresses, host names or `*.suffix` reachable despite the block list. */
    allow?: readonly string[];
    /** Name resolution (tests answer names with chosen addresses); default node:dns. */
    resolver?: Resolver;
  };
  http?: {
    /** Response bodies larger than this fail with `http_response_too_large`; default 1 MiB. */
    maxResponseBytes?: number;
    /** Sent unless the node sets its own. */
    userAgent?: string;
  };
}

interface HeaderEntry {
  name: string;
  value: string;
  /** Not forwarded to another origin on redirect (credentials, cookies, secrets). */
  sensitive: boolean;
}

const ALWAYS_SENSITIVE = new Set(['authorization', 'proxy-authorization', 'cookie']);

function authHeader(credential: DecryptedCredential): HeaderEntry | string {
  switch (credential.kind) {
    case 'bearer':
    case 'openai':
      return { name: 'Authorization', value: `Bearer ${credential.value}`, sensitive: true };
    case 'basic':
      return { name: 'Authorization', value: `Basic ${Buffer.from(`${credential.meta.username ?? ''}:${credential.value}`).toString('base64')}`, sensitive: true };
    case 'header':
      return { name: credential.meta.header ?? 'X-Api-Key', value: credential.value, sensitive: true };
    case 'secret':
      return `Credential '${credential.name}' is a plain secret, not an authentication method; use {{ secrets.${credential.name} }} in a header instead`;
  }
}

/** `origin + path` of a URL (no query, no fragment, no user info) for messages and logs. */
function describeUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

function toHeaderObject(headers: Headers): JsonObject {
  const out: JsonObject = {};
  headers.forEach((value, name) => {
    out[name] = value;
  });
  return out;
}

class TooLargeError extends Error {}

async function readCapped(response: Response, max: number): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > max) {
    await response.body?.cancel().catch(() => {});
    throw new TooLargeError(`declares ${declared} bytes`);
  }
  if (!response.body) return new Uint8Array();
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel().catch(() => {});
      throw new TooLargeError(`exceeded ${max} bytes while streaming`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

function isTimeout(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 6; current = current.cause, depth++) {
    if (current.name === 'TimeoutError' || (current as { code?: unknown }).code === 'UND_ERR_CONNECT_TIMEOUT') return true;
  }
  return false;
}

/** undici's network failures: `fetch failed` / `terminated`, or anything with a socket error code. */
function isNetworkError(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 6; current = current.cause, depth++) {
    if (current.message === 'fetch failed' || current.message === 'terminated' || typeof (current as { code?: unknown }).code === 'string') return true;
  }
  return false;
}

/** Errors of the connect phase: the request never left, so sending it again is safe. */
const CONNECT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

function neverSent(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 6; current = current.cause, depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && CONNECT_CODES.has(code)) return true;
  }
  return false;
}

function networkMessage(error: unknown): string {
  const parts: string[] = [];
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 6; current = current.cause, depth++) {
    const code = (current as { code?: unknown }).code;
    parts.push(typeof code === 'string' && !current.message.includes(code) ? `${current.message} (${code})` : current.message);
  }
  return parts.filter((part) => part !== 'fetch failed').join(': ') || 'network error';
}

/**
 * Creates the `httpRequest` activity.
 *
 * - Renders URL, query, headers and body (`{{ secrets.NAME }}` resolved here), adds the
 *   credential's authentication, sends through the SSRF guard, follows up to 5
 *   redirects (each hop checked; credentials and secret-bearing headers dropped when the
 *   origin changes).
 * - 2xx → `ok` with `responseMapping` and `responseVariable` ({ status, headers, body })
 *   writes. 429/5xx, network errors and timeouts → a retryable ApplicationFailure
 *   (Retry-After honoured). Other statuses → `{ ok: false, error.code: 'http_status' }`,
 *   still writing `responseVariable` so the chain can read the error body.
 * - Every request carries an `Idempotency-Key` (see {@link idempotencyKey}). A POST or
 *   PATCH whose answer was lost (timeout, dropped connection) is final unless the node
 *   sets `retryUnsafe`. A cross-origin redirect of a request whose URL, query or re-sent
 *   body used a secret fails with `http_redirect_secret`.
 * - No secret value appears in the result, its event, the failure messages or the logs.
 */
export function createHttpActivities(deps: HttpDeps) {
  const guard = createSsrfGuard({ allow: deps.ssrf?.allow ?? [], ...(deps.ssrf?.resolver ? { resolver: deps.ssrf.resolver } : {}) });
  const maxBytes = deps.http?.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const userAgent = deps.http?.userAgent ?? 'Chainflow/0.1 (+http node)';

  async function httpRequest(input: EffectInput<HttpConfig>): Promise<EffectResult> {
    const { config } = input;
    const { secrets: _never, ...scope }: ReadableScope = input.scope;
    const log = deps.logger.child({ runId: input.runId, chainId: input.chainId, nodeId: input.nodeId, activity: 'httpRequest' });

    // Secrets and credential: resolved here, never passed back.
    const templates = [config.url, ...config.query.map((q) => q.value), ...config.headers.map((h) => h.value)];
    if (config.body.kind === 'json') templates.push(config.body.json);
    if (config.body.kind === 'raw') templates.push(config.body.text);
    if (config.body.kind === 'form' || config.body.kind === 'multipart') templates.push(...config.body.fields.map((f) => f.value));
    let secrets: Record<string, string>;
    let credential: DecryptedCredential | undefined;
    try {
      // Checked for the version's publisher at every use: revoking their access stops old versions too.
      const use = await credentialUseFor(deps.orm.em, { sourceVersionId: (config as { sourceVersionId?: unknown }).sourceVersionId, runId: input.runId });
      secrets = await resolveSecrets(deps.orm.em, deps.secretBox, referencedSecrets(templates.flatMap((t) => parseTemplate(t).variables)), use);
      credential = config.credentialId !== undefined && config.credentialId !== '' ? await loadCredential(deps.orm.em, deps.secretBox, config.credentialId, use) : undefined;
    } catch (error) {
      if (error instanceof CredentialError) return effectError(error.code, error.message);
      throw error;
    }
    const needles = secretNeedles([...Object.values(secrets), ...(credential ? credentialSecretValues(credential) : [])]);
    const redact = (text: string): string => redactText(text, needles);
    const finish = (result: EffectResult): EffectResult => redactResult(result, needles);
    const render = (template: string): string => renderTemplate(template, scope, { secrets });
    const usesSecret = (template: string): boolean => referencedSecrets(parseTemplate(template).variables).length > 0;

    // URL.
    let url: URL;
    try {
      url = new URL(render(config.url).trim());
      for (const pair of config.query) url.searchParams.append(pair.name, render(pair.value));
    } catch {
      return finish(effectError('http_invalid_url', `'${clip(redact(render(config.url)), 200)}' is not a valid URL`));
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      return finish(effectError('http_invalid_url', `Only http and https URLs can be requested, not ${url.protocol}`));
    }
    if (url.username !== '' || url.password !== '') {
      return finish(effectError('http_invalid_url', 'The URL carries a user name or password; use a basic credential instead'));
    }

    // Headers and body.
    const headers: HeaderEntry[] = config.headers.map((h) => ({
      name: h.name,
      value: render(h.value),
      sensitive: ALWAYS_SENSITIVE.has(h.name.toLowerCase()) || usesSecret(h.value),
    }));
    if (credential) {
      const auth = authHeader(credential);
      if (typeof auth === 'string') return finish(effectError('credential_invalid', auth));
      const name = auth.name.toLowerCase();
      for (let i = headers.length - 1; i >= 0; i--) if (headers[i]?.name.toLowerCase() === name) headers.splice(i, 1);
      headers.push(auth);
    }
    let body: RequestBody;
    if (config.method !== 'GET' && config.method !== 'HEAD') {
      const rendered = renderBody(config.body, render, (template) => renderJsonTemplate(template, scope, { secrets }));
      if (!rendered.ok) return finish(effectError('http_invalid_body', rendered.message));
      body = rendered.value;
    }
    const hasHeader = (name: string): boolean => headers.some((h) => h.name.toLowerCase() === name);
    if (body?.contentType !== undefined && !hasHeader('content-type')) headers.push({ name: 'Content-Type', value: body.contentType, sensitive: false });
    if (body !== undefined && body.contentType === undefined) {
      // multipart: fetch writes the content type with its boundary.
      for (let i = headers.length - 1; i >= 0; i--) if (headers[i]?.name.toLowerCase() === 'content-type') headers.splice(i, 1);
    }
    if (!hasHeader('user-agent')) headers.push({ name: 'User-Agent', value: userAgent, sensitive: false });
    // The same key on every retry and replay of this call; a node may set its own.
    if (!hasHeader('idempotency-key')) headers.push({ name: 'Idempotency-Key', value: idempotencyKey(input), sensitive: false });
    // A rendered value with a line break (user input, say) must not become a retry or a
    // header injection: check every header once, up front.
    for (const h of headers) {
      if (/[\r\n\0]/.test(h.value)) return finish(effectError('http_invalid_header', `Header '${h.name}' contains a line break or NUL after inserting variables`));
      try {
        new Headers([[h.name, h.value]]);
      } catch {
        return finish(effectError('http_invalid_header', `Header '${h.name}' has a value HTTP does not allow`));
      }
    }

    const timeout = AbortSignal.timeout(config.timeoutMs);
    const cancel = cancellationSignal();
    const signal = cancel ? AbortSignal.any([timeout, cancel]) : timeout;
    const started = Date.now();
    let method: string = config.method;
    // POST and PATCH are not idempotent: when their answer is lost (timeout, dropped
    // connection) the server may have acted, so only a node that opts in retries them.
    const unsafe = (config.method === 'POST' || config.method === 'PATCH') && config.retryUnsafe !== true;
    const unsafeHint = `; ${config.method} is not retried after a lost answer, since the server may have acted on it. If the API honours the Idempotency-Key header, turn on 'Retry POST/PATCH after a timeout' (retryUnsafe)`;
    // Secrets in the URL/query, or in a body a 307/308 would re-send, must not travel to another origin.
    const urlSecrets = usesSecret(config.url) || config.query.some((pair) => usesSecret(pair.value));
    const bodySecrets = (config.body.kind === 'json' && usesSecret(config.body.json)) || (config.body.kind === 'raw' && usesSecret(config.body.text)) || ((config.body.kind === 'form' || config.body.kind === 'multipart') && config.body.fields.some((f) => usesSecret(f.value)));
    let redirects = 0;
    let sendHeaders = headers;
    let sendBody = body?.body;

    const exchange = async (): Promise<EffectResult> => {
      try {
        for (;;) {
          guard.checkUrl(url);
          const requestHeaders = new Headers();
          for (const h of sendHeaders) requestHeaders.append(h.name, h.value);
          const response = await fetch(url, { method, headers: requestHeaders, body: sendBody ?? null, redirect: 'manual', dispatcher: guard.dispatcher, signal });
          const location = response.headers.get('location');
          if (response.status >= 300 && response.status < 400 && location !== null) {
            await response.body?.cancel().catch(() => {});
            if (redirects >= MAX_REDIRECTS) return finish(effectError('http_too_many_redirects', `More than ${MAX_REDIRECTS} redirects, last from ${method} ${describeUrl(url)}`, { status: response.status }));
            let next: URL;
            try {
              next = new URL(location, url);
            } catch {
              return finish(effectError('http_invalid_redirect', `${describeUrl(url)} redirected to an invalid location`, { status: response.status }));
            }
            if (next.protocol !== 'http:' && next.protocol !== 'https:') {
              return finish(effectError('http_invalid_redirect', `${describeUrl(url)} redirected to a ${next.protocol} URL`, { status: response.status }));
            }
            const dropsBody = response.status === 303 || ((response.status === 301 || response.status === 302) && method === 'POST');
            if (next.origin !== url.origin) {
              const carried = urlSecrets ? 'URL or query' : bodySecrets && sendBody !== undefined && !dropsBody ? 'body' : undefined;
              if (carried !== undefined) {
                return finish(
                  effectError(
                    'http_redirect_secret',
                    `${describeUrl(url)} redirected (${response.status}) to another origin, ${next.origin}; the request was not sent there because its ${carried} contains a secret. Request the final URL directly`,
                    { status: response.status },
                  ),
                );
              }
              sendHeaders = sendHeaders.filter((h) => !h.sensitive);
            }
            if (dropsBody) {
              method = method === 'HEAD' ? 'HEAD' : 'GET';
              sendBody = undefined;
              sendHeaders = sendHeaders.filter((h) => !h.name.toLowerCase().startsWith('content-'));
            }
            redirects++;
            url = next;
            continue;
          }

          let bytes: Uint8Array;
          try {
            bytes = method === 'HEAD' ? new Uint8Array() : await readCapped(response, maxBytes);
          } catch (error) {
            if (error instanceof TooLargeError) {
              return finish(effectError('http_response_too_large', `The response of ${method} ${describeUrl(url)} is larger than ${maxBytes} bytes (${error.message})`, { status: response.status }));
            }
            throw error;
          }
          const where = `${method} ${describeUrl(url)}`;
          const status = response.status;
          const statusLine = `HTTP ${status}${response.statusText ? ` ${response.statusText}` : ''}`;
          log.info({ method, url: redact(describeUrl(url)), status, redirects, bytes: bytes.byteLength, ms: Date.now() - started }, 'http request done');

          if (status === 429 || status >= 500) {
            const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
            throw retryableFailure('http_status', redact(`${statusLine} from ${where}`), { status, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
          }
          const decoded = decodeBody(bytes, response.headers.get('content-type'));
          const ok = status >= 200 && status < 300;
          if (!decoded.ok) return finish(effectError('http_invalid_json', `${decoded.message}; from ${where}`, { status }));
          const whole: JsonValue = { status, headers: toHeaderObject(response.headers), body: decoded.body };
          const set: VariableWrite[] = config.responseVariable !== undefined ? [{ variable: config.responseVariable, value: whole }] : [];
          const event: JsonObject = { method, url: describeUrl(url), status, redirects, bytes: bytes.byteLength, ms: Date.now() - started };
          if (!ok) {
            const snippet = decoded.text !== undefined && decoded.text.trim() !== '' ? `: ${clip(decoded.text.trim().replace(/\s+/g, ' '), 200)}` : '';
            return finish(effectError('http_status', `${statusLine} from ${where}${snippet}`, { status, set }));
          }

          // Mappings read JSON; a text body that is JSON is accepted too.
          let mapped: JsonValue = decoded.body;
          if (!decoded.json && decoded.text !== undefined && config.responseMapping.some((m) => m.path.trim() !== '$')) {
            try {
              mapped = JSON.parse(decoded.text) as JsonValue;
            } catch {
              return finish(effectError('http_invalid_json', `The response of ${where} is not JSON, so the response mapping cannot read it`, { status, set }));
            }
          }
          const missing: string[] = [];
          for (const mapping of config.responseMapping) {
            const value = readJsonPath(mapped, mapping.path);
            if (value === undefined) missing.push(mapping.path);
            set.push({ variable: mapping.variable, value: value ?? null });
          }
          if (missing.length > 0) event.missingPaths = missing;
          return finish(effectOk(set, event));
        }
      } catch (error) {
        const blocked = error instanceof SsrfBlockedError ? error : findSsrfError(error);
        if (blocked) {
          log.warn({ host: redact(blocked.host), address: blocked.address, reason: blocked.reason }, 'http request blocked by the SSRF guard');
          return finish(effectError('http_ssrf_blocked', redact(blocked.message)));
        }
        if (cancel?.aborted && !timeout.aborted) throw error;
        if (error instanceof ApplicationFailure) throw error;
        if (isTimeout(error) || timeout.aborted) {
          log.warn({ method, url: redact(describeUrl(url)), timeoutMs: config.timeoutMs }, 'http request timed out');
          const message = redact(`${method} ${describeUrl(url)} did not answer within ${config.timeoutMs} ms`);
          if (unsafe && method === config.method && !neverSent(error)) return finish(effectError('http_timeout', `${message}${unsafeHint}`));
          throw retryableFailure('http_timeout', message);
        }
        const message = redact(`${method} ${describeUrl(url)} failed: ${networkMessage(error)}`);
        log.warn({ err: message }, 'http request failed');
        // Anything but a network failure will fail the same way again: final, not retried.
        if (!isNetworkError(error)) return finish(effectError('http_failed', message));
        if (unsafe && method === config.method && !neverSent(error)) return finish(effectError('http_network', `${message}${unsafeHint}`));
        throw retryableFailure('http_network', message);
      }
    };

    // Outside a worker (a direct call) nothing retries the activity: no record is needed.
    const activity = activityContext()?.info;
    if (!unsafe || !activity) return exchange();
    // The send record (db/http-attempts.ts): a retry of this activity after the worker
    // stopped (or the activity timed out) mid-request must not send the request again.
    const key = idempotencyKey(input);
    const call = { key: httpAttemptKey(key, activity.workflowExecution?.runId ?? '', activity.activityId), idempotencyKey: key, runId: input.runId, nodeId: input.nodeId };
    if (!(await claimHttpAttempt(deps.orm.em, call))) {
      log.warn({ method: config.method, url: redact(describeUrl(url)) }, 'http request not sent again: an earlier attempt may have sent it');
      return finish(
        effectError(
          'http_outcome_unknown',
          redact(
            `${config.method} ${describeUrl(url)} may have been sent before the worker stopped, and its answer was lost; it is not sent again. Set retryUnsafe ('Retry POST/PATCH after a timeout') on the node if the target honours the Idempotency-Key header`,
          ),
        ),
      );
    }
    let result: EffectResult;
    try {
      result = await exchange();
    } catch (error) {
      // A retryable failure means no answer to act on was lost (never sent, or 429/5xx): the retry may send.
      if (error instanceof ApplicationFailure && !error.nonRetryable) await settleHttpAttempt(deps.orm.em, call.key, 'retry');
      throw error;
    }
    await settleHttpAttempt(deps.orm.em, call.key, 'done');
    return result;
  }

  return { httpRequest };
}

export type HttpActivities = ReturnType<typeof createHttpActivities>;
