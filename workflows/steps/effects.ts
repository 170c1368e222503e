import { ActivityFailure, ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { BuiltinIrNode, JsonObject, JsonValue, PluginIrNode } from '../../chain/runtime.ts';
import type { Session } from '../session.ts';
import type { StepResult } from './types.ts';

/** The effect activities' contract (activities/effects.ts implements it). */
interface EffectInput<C> {
  runId: string;
  chainId: string;
  nodeId: string;
  config: C;
  scope: { message: JsonObject; session: JsonObject; user: JsonObject; chat: JsonObject; bot: JsonObject; run: JsonObject };
}
type EffectResult =
  | { ok: true; set: Array<{ variable: string; value: JsonValue }>; event?: JsonObject }
  | { ok: false; error: { code: string; message: string; status?: number }; set: Array<{ variable: string; value: JsonValue }> };

interface EffectActivities {
  httpRequest(input: EffectInput<unknown>): Promise<EffectResult>;
  llmComplete(input: EffectInput<unknown> & { memory: Array<{ role: 'user' | 'assistant'; content: string }> }): Promise<EffectResult>;
  runCode(input: EffectInput<unknown>): Promise<EffectResult>;
  runPluginNode(input: EffectInput<unknown> & { pluginType: string }): Promise<EffectResult>;
}

// Retries are for transient failures only (network, 5xx, 429): the activities throw
// retryable failures for those and return {ok:false} for everything final.
const effects = proxyActivities<EffectActivities>({
  startToCloseTimeout: '150 seconds',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 4 },
});

type EffectNode = Extract<BuiltinIrNode, { type: 'http' | 'llm' | 'code' }> | PluginIrNode;

/**
 * http / llm / code / plugin nodes: one activity call. Success writes the returned
 * variables and leaves through 'ok'; a failure (final, or retries exhausted) is stored in
 * `session.error` and leaves through 'error' — or fails the session when 'error' has no edge.
 */
export async function effectStep(session: Session, node: EffectNode, workflowId: string): Promise<StepResult> {
  const input: EffectInput<unknown> = { runId: workflowId, chainId: session.input.chainId, nodeId: node.id, config: node.config, scope: session.scope() };
  let result: EffectResult;
  try {
    switch (node.type) {
      case 'http':
        result = await effects.httpRequest(input);
        break;
      case 'llm': {
        const turns = node.config.memory.turns;
        const memory = turns > 0 ? session.state.turns.slice(-turns * 2 - 1, -1) : [];
        result = await effects.llmComplete({ ...input, memory });
        break;
      }
      case 'code':
        result = await effects.runCode(input);
        break;
      default:
        result = await effects.runPluginNode({ ...input, pluginType: node.type });
    }
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    const cause = err.cause;
    const code = cause instanceof ApplicationFailure && cause.type ? cause.type : 'activity_failed';
    const detail = cause instanceof ApplicationFailure ? (cause.details?.[0] as { status?: unknown } | undefined) : undefined;
    const status = typeof detail?.status === 'number' ? detail.status : undefined;
    result = { ok: false, error: { code, message: cause?.message ?? err.message, ...(status !== undefined ? { status } : {}) }, set: [] };
  }
  for (const write of result.set) session.set(write.variable, write.value);
  if (result.ok) {
    session.emit(`${node.type.startsWith('plugin:') ? 'plugin' : node.type}.ok`, result.event ?? {}, node.id);
    return { kind: 'port', port: 'ok' };
  }
  const error = { nodeId: node.id, code: result.error.code, message: result.error.message, ...(result.error.status !== undefined ? { status: result.error.status } : {}) };
  session.frame.session = { ...session.frame.session, error };
  session.emit('node.error', error, node.id);
  if ((node.next.error ?? []).length === 0) {
    throw ApplicationFailure.nonRetryable(`Node "${node.id}" (${node.type}) failed: ${result.error.message}. Connect its 'error' port to handle failures.`, 'node_failed');
  }
  return { kind: 'port', port: 'error' };
}
