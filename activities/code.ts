// The code node's side effect: run the editor's JavaScript in the QuickJS sandbox pool
// and turn its return value into variable writes.

import { isPlainObject } from '../chain/json.ts';
import { parseVariablePath, type JsonObject, type JsonValue } from '../chain/index.ts';
import type { CodeConfig } from '../chain/nodes/code.ts';
import type { Logger } from '../lib/logger.ts';
import { createCodeSandbox, type CodeSandbox, type CodeSandboxOptions } from './code-sandbox.ts';
import { cancellationSignal, heartbeat } from './activity-context.ts';
import { effectError, effectOk, retryableFailure, type EffectInput, type EffectResult, type VariableWrite } from './effects.ts';

/** How often runCode heartbeats while its job waits or runs (the SDK throttles further). */
const HEARTBEAT_EVERY_MS = 1000;

/** What {@link createCodeActivities} needs. */
export interface CodeDeps {
  logger: Logger;
  /** A shared pool; by default the factory makes one (close it with `sandbox.close()` on shutdown). */
  sandbox?: CodeSandbox;
  /** Options of the pool the factory makes. */
  code?: CodeSandboxOptions;
}

/**
 * Turns main's return value into writes.
 *
 * - With `variable` ("Save result to") set: the whole value goes there (`null` when main
 *   returns nothing).
 * - Without: main returns an object whose keys are variable paths in writable scopes,
 *   `{ "session.total": 3, "user.tier": "gold" }`; `undefined`/`null` writes nothing.
 */
export function resultWrites(result: JsonValue | undefined, variable: string | undefined): { ok: true; set: VariableWrite[] } | { ok: false; message: string } {
  if (variable !== undefined) return { ok: true, set: [{ variable, value: result ?? null }] };
  if (result === undefined || result === null) return { ok: true, set: [] };
  if (!isPlainObject(result)) {
    return { ok: false, message: `main returned ${Array.isArray(result) ? 'an array' : `a ${typeof result}`}; return an object of variable writes like { "session.total": 3 }, or set "Save result to"` };
  }
  const set: VariableWrite[] = [];
  for (const [name, value] of Object.entries(result as JsonObject)) {
    const check = parseVariablePath(name, { write: true });
    if (!check.ok) return { ok: false, message: `main returned the key '${name.slice(0, 80)}': ${check.message}` };
    set.push({ variable: name, value });
  }
  return { ok: true, set };
}

/**
 * Creates the `runCode` activity: `main(message, variables)` of the node's source runs in
 * a QuickJS thread with the node's time and memory limits, no host objects and no I/O.
 * `message` is the `message` scope, `variables` every scope (`variables.session.total`).
 * See {@link resultWrites} for what the return value writes. Failures are final
 * (`{ ok: false }`): `code_error` (exception or syntax error, with its line),
 * `code_timeout`, `code_memory`, `code_invalid_result`, `code_output_too_large`.
 * The event carries the console output (bounded) and the run time.
 */
export function createCodeActivities(deps: CodeDeps) {
  const sandbox = deps.sandbox ?? createCodeSandbox(deps.code);

  async function runCode(input: EffectInput<CodeConfig>): Promise<EffectResult> {
    const { config, scope } = input;
    const variables = {
      message: scope.message ?? {},
      session: scope.session ?? {},
      user: scope.user ?? {},
      chat: scope.chat ?? {},
      bot: scope.bot ?? {},
      run: scope.run ?? {},
    };
    const started = Date.now();
    const signal = cancellationSignal();
    // Heartbeats while queued or running: Temporal notices a dead worker, and a
    // cancellation reaches us (it is delivered on heartbeats) and drops the queued job.
    heartbeat({ ...sandbox.stats(input.chainId) });
    const beat = setInterval(() => heartbeat({ ...sandbox.stats(input.chainId) }), HEARTBEAT_EVERY_MS);
    let reply;
    try {
      reply = await sandbox.run({
        source: config.source,
        message: variables.message,
        variables,
        timeoutMs: config.timeoutMs,
        memoryMb: config.memoryMb,
        key: input.chainId,
        ...(signal ? { signal } : {}),
      });
    } finally {
      clearInterval(beat);
    }
    const ms = Date.now() - started;
    const log = deps.logger.child({ runId: input.runId, chainId: input.chainId, nodeId: input.nodeId, activity: 'runCode' });
    if (!reply.ok && reply.code === 'code_cancelled' && signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('The code run was cancelled');
    if (!reply.ok && reply.code === 'code_busy') {
      // Transient: other chains' code keeps the pool busy. Temporal retries with backoff.
      log.warn({ ms, stats: sandbox.stats() }, 'code node waited too long for the sandbox');
      throw retryableFailure('code_busy', reply.message);
    }
    if (!reply.ok) {
      log.info({ code: reply.code, ms, consoleLines: reply.logs.length }, 'code node failed');
      return effectError(reply.code, reply.message);
    }
    const result = reply.resultJson === undefined ? undefined : (JSON.parse(reply.resultJson) as JsonValue);
    const writes = resultWrites(result, config.variable);
    if (!writes.ok) return effectError('code_invalid_result', writes.message);
    log.debug({ ms, writes: writes.set.length }, 'code node done');
    return effectOk(writes.set, { console: reply.logs, ms });
  }

  /**
   * `trialCode`: the editor's "run with sample input" — the same pool, limits and QuickJS
   * setup as {@link runCode}, answering main's raw return value (or the failure) with the
   * console output and the run time, writing nothing.
   */
  async function trialCode(input: CodeTrialInput): Promise<CodeTrialResult> {
    const started = Date.now();
    const reply = await sandbox.run({ source: input.source, message: input.message, variables: input.variables, timeoutMs: input.timeoutMs, memoryMb: input.memoryMb, key: input.chainId });
    const ms = Date.now() - started;
    if (!reply.ok) return { ok: false, code: reply.code, message: reply.message, console: reply.logs, ms };
    return { ok: true, result: reply.resultJson === undefined ? null : (JSON.parse(reply.resultJson) as JsonValue), console: reply.logs, ms };
  }

  return { runCode, trialCode };
}

/** What the editor's trial run sends: a code node's source and limits, and a sample input. */
export interface CodeTrialInput {
  chainId: string;
  source: string;
  timeoutMs: number;
  memoryMb: number;
  message: JsonObject;
  /** Every scope, as main receives it (`variables.session.total`). */
  variables: JsonObject;
}

export type CodeTrialResult = { ok: true; result: JsonValue; console: string[]; ms: number } | { ok: false; code: string; message: string; console: string[]; ms: number };

export type CodeActivities = ReturnType<typeof createCodeActivities>;
