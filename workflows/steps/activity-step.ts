// What every activity-backed step (http, llm, code, plugin) shares: the activity options,
// the input, and how the result (or the failure) moves the session on.

import { ActivityFailure, ApplicationFailure, type ActivityOptions } from '@temporalio/workflow';
import type { EffectInput, EffectResult } from '../../activities/effects.ts';
import { clipText, parseTemplate, type IrNode, type JsonObject, type Scope } from '../../chain/runtime.ts';
import type { Session } from '../session.ts';
import type { StepResult } from './types.ts';

/**
 * Options of every effect activity. Retries are for transient failures only (network,
 * 5xx, 429): the activities throw retryable failures for those and return {ok:false} for
 * everything final.
 */
export const EFFECT_ACTIVITY_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '150 seconds',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 4 },
};

/** Error messages are clipped to this many characters wherever they enter history. */
export const ERROR_MESSAGE_LIMIT = 1024;

/**
 * The input of an effect activity: the node's raw config, a variables snapshot (no
 * secrets) and the session's event sequence here, from which the activity derives the
 * call's Idempotency-Key (reading it schedules nothing: command order is unchanged).
 * With `only: 'referenced'` (http, llm) the snapshot holds only the variables the config's templates and variable fields name (plus `message.*`), so big variables
 * a node does not use never travel into its activity's input in history. Code and plugin
 * nodes get every scope (`main(message, variables)` may read any of them).
 */
export function effectInput<C>(session: Session, node: { id: string; config: C }, workflowId: string, only: 'all' | 'referenced' = 'all'): EffectInput<C> {
  const scope = only === 'referenced' ? referencedScope(session.scope(), node.config) : session.scope();
  return { runId: workflowId, chainId: session.input.chainId, nodeId: node.id, config: node.config, scope, seq: session.state.seq };
}

const SNAPSHOT_SCOPES = ['session', 'user', 'chat', 'bot', 'run'] as const;
const VARIABLE_FIELD = /^(session|user|chat|bot|run|message)(?:\.[^.\s{}]+)+$/;

/** The scope cut down to the top-level variables `config` reads (see {@link effectInput}). */
export function referencedScope(scope: Scope, config: unknown): Scope {
  const whole = new Set<string>();
  const names = new Map<string, Set<string>>();
  const read = (path: string): void => {
    const [scopeName, name] = path.split(/[.[\]]/);
    if (scopeName === undefined || !(SNAPSHOT_SCOPES as readonly string[]).includes(scopeName)) return;
    if (!name) whole.add(scopeName);
    else names.set(scopeName, (names.get(scopeName) ?? new Set()).add(name));
  };
  const walk = (value: unknown): void => {
    if (typeof value === 'string') {
      if (value.includes('{{')) for (const path of parseTemplate(value).variables) read(path);
      else if (VARIABLE_FIELD.test(value)) read(value);
    } else if (Array.isArray(value)) value.forEach(walk);
    else if (typeof value === 'object' && value !== null) Object.values(value).forEach(walk);
  };
  walk(config);
  const pick = (name: (typeof SNAPSHOT_SCOPES)[number]): JsonObject => {
    if (whole.has(name)) return scope[name];
    const out: JsonObject = {};
    for (const key of names.get(name) ?? []) {
      const value = scope[name][key];
      if (value !== undefined) out[key] = value;
    }
    return out;
  };
  return { message: scope.message, session: pick('session'), user: pick('user'), chat: pick('chat'), bot: pick('bot'), run: pick('run') };
}

/** The HTTP status a retryable failure carries in its details (see activities/effects.ts). */
function statusOf(details: unknown[] | null | undefined): number | undefined {
  const detail = details?.[0];
  return typeof detail === 'object' && detail !== null && 'status' in detail && typeof detail.status === 'number' ? detail.status : undefined;
}

/**
 * Runs one effect activity for `node` and moves on. Success writes the returned
 * variables, logs `<event>.ok` and leaves through 'ok'; a failure (final, or retries
 * exhausted) is stored in `session.error` and leaves through 'error', or fails the session
 * when 'error' has no edge.
 */
export async function runEffect(session: Session, node: IrNode, event: string, call: () => Promise<EffectResult>): Promise<StepResult> {
  let result: EffectResult;
  try {
    result = await call();
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    const cause = err.cause;
    const code = cause instanceof ApplicationFailure && cause.type ? cause.type : 'activity_failed';
    const status = cause instanceof ApplicationFailure ? statusOf(cause.details) : undefined;
    result = { ok: false, error: { code, message: cause?.message ?? err.message, ...(status !== undefined ? { status } : {}) }, set: [] };
  }
  const undo = session.snapshot();
  try {
    for (const write of result.set) session.set(write.variable, write.value);
  } catch (err) {
    // A result that would take the state over its cap: nothing of it is kept (writes
    // already applied are undone), and the node leaves through 'error'.
    if (!(err instanceof ApplicationFailure && err.type === 'state_too_large')) throw err;
    undo();
    result = { ok: false, error: { code: 'state_too_large', message: err.message }, set: [] };
  }
  if (result.ok) {
    session.emit(`${event}.ok`, result.event ?? {}, node.id);
    return { kind: 'port', port: 'ok' };
  }
  // Clipped: the message enters history (session.error, run events, the failure).
  const message = clipText(result.error.message, ERROR_MESSAGE_LIMIT);
  const error = { nodeId: node.id, code: result.error.code, message, ...(result.error.status !== undefined ? { status: result.error.status } : {}) };
  session.frame.session = { ...session.frame.session, error };
  session.emit('node.error', error, node.id);
  if ((node.next.error ?? []).length === 0) {
    const type = result.error.code === 'state_too_large' ? 'state_too_large' : 'node_failed';
    throw ApplicationFailure.nonRetryable(`Node "${node.id}" (${node.type}) failed: ${message}. Connect its 'error' port to handle failures.`, type);
  }
  return { kind: 'port', port: 'error' };
}
