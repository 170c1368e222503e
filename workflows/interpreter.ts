import { ApplicationFailure, workflowInfo } from '@temporalio/workflow';
import { evaluateRules, getVariable, type IrNode, type JsonObject, type JsonValue, type ReadableScope } from '../chain/runtime.ts';
import type { Session } from './session.ts';
import { agentStep, toolResult } from './steps/agent.ts';
import { askReply, askStep } from './steps/ask.ts';
import { codeStep } from './steps/code.ts';
import { conditionStep } from './steps/condition.ts';
import { delayStep } from './steps/delay.ts';
import { endStep } from './steps/end.ts';
import { gotoStep } from './steps/goto.ts';
import { httpStep } from './steps/http.ts';
import { knowledgeStep } from './steps/knowledge.ts';
import { llmStep } from './steps/llm.ts';
import { messageStep } from './steps/message.ts';
import { isPluginNode, pluginStep } from './steps/plugin.ts';
import { setStep } from './steps/set.ts';
import { splitStep } from './steps/split.ts';
import { startStep } from './steps/start.ts';
import { subchainStep } from './steps/subchain.ts';
import { switchStep } from './steps/switch.ts';
import type { StepResult } from './steps/types.ts';
import type { InboundMessage } from './types.ts';

/** Loads a chain version's IR into the session (a local activity, cached per worker). */
export type IrLoader = (versionId: string) => Promise<void>;

/**
 * Runs one node: its step, `workflows/steps/<type>.ts`. Plugin types share one step; the
 * switch over the built-in types has no default and ends in `node satisfies never`, so a
 * built-in type registered in chain/nodes/ without a case here does not compile.
 */
async function runNode(session: Session, node: IrNode): Promise<StepResult> {
  const workflowId = workflowInfo().workflowId;
  if (isPluginNode(node)) return pluginStep(session, node, workflowId);
  switch (node.type) {
    case 'start':
      return startStep();
    case 'message':
      return messageStep(session, node);
    case 'ask':
      return askStep(session, node);
    case 'condition':
      return conditionStep(session, node);
    case 'switch':
      return switchStep(session, node);
    case 'set':
      return setStep(session, node);
    case 'delay':
      return delayStep(session, node);
    case 'http':
      return httpStep(session, node, workflowId);
    case 'llm':
      return llmStep(session, node, workflowId);
    case 'agent':
      return agentStep(session, node, workflowId);
    case 'knowledge':
      return knowledgeStep(session, node, workflowId);
    case 'code':
      return codeStep(session, node, workflowId);
    case 'subchain':
      return subchainStep(session, node);
    case 'split':
      return splitStep(session, node, workflowId);
    case 'goto':
      return gotoStep(node);
    case 'end':
      return endStep(node);
  }
  // Unreachable for an IR the compiler produced: every built-in type has its case above.
  const unhandled: IrNode = node satisfies never;
  throw ApplicationFailure.nonRetryable(`Node "${unhandled.id}" (${unhandled.type}) has a type this worker has no step for.`, 'unknown_node_type');
}

/** Moves the current frame along `port` of its node: the first edge whose rules hold. */
function follow(session: Session, node: IrNode, port: string): void {
  const scope = session.scope();
  const edge = (node.next[port] ?? []).find((e) => !e.rules || evaluateRules(e.rules, scope));
  session.frame.nodeId = edge?.target ?? null;
}

/**
 * Ends the innermost frame. In a sub-chain: copy its outputs to the caller, set
 * session.outcome and continue through the caller node's 'next'. At the root: the
 * session ends.
 */
function endFrame(session: Session, outcome: string): void {
  const frames = session.state.frames;
  if (frames.length <= 1) {
    session.ended = true;
    session.outcome = outcome;
    session.emit('session.end', { outcome });
    return;
  }
  const inner = frames.pop();
  if (!inner?.callerNodeId) throw new Error('A sub-chain frame lost its caller');
  const caller = session.node(inner.callerNodeId);
  const innerScope: ReadableScope = { ...session.scope(), session: inner.session, run: inner.run };
  session.frame.session = { ...session.frame.session, outcome };
  if (caller.type === 'subchain') {
    for (const o of caller.config.outputs) {
      const value = getVariable(innerScope, o.from);
      session.set(o.to, (value ?? null) as JsonValue);
    }
  }
  session.emit('subchain.exit', { outcome, versionId: inner.versionId }, caller.id);
  if (caller.type === 'agent') {
    // A sub-chain tool: its outputs are the call's result; the agent goes on with its plan.
    const call = session.frame.agent?.calls.find((c) => c.id === inner.agentCallId);
    const tool = caller.config.tools.find((t) => t.name === call?.name);
    if (call && tool?.kind === 'subchain') {
      const outputs: JsonObject = { outcome };
      for (const o of tool.outputs) outputs[o.as] = (getVariable(innerScope, o.from) ?? null) as JsonValue;
      call.result = toolResult(call.name, JSON.stringify(outputs));
    }
    session.frame.nodeId = caller.id;
    return;
  }
  follow(session, caller, 'next');
}

/** Applies a step's result to the session; returns true when the session must wait. */
async function apply(session: Session, node: IrNode, result: StepResult, loadIr: IrLoader): Promise<boolean> {
  switch (result.kind) {
    case 'port':
      follow(session, node, result.port);
      return false;
    case 'jump':
      session.frame.nodeId = result.nodeId;
      return false;
    case 'wait':
      session.state.wait = result.wait;
      return true;
    case 'end':
      endFrame(session, result.outcome);
      return false;
    case 'call': {
      if (session.state.frames.length >= session.limits.maxCallDepth) {
        throw ApplicationFailure.nonRetryable(`Sub-chain calls nested deeper than ${session.limits.maxCallDepth} at node "${node.id}".`, 'call_depth');
      }
      await loadIr(result.versionId);
      const ir = session.ir(result.versionId);
      const entry = ir.entries.api ?? ir.entries.any;
      if (!entry) {
        throw ApplicationFailure.nonRetryable(`Sub-chain "${ir.slug}" called from "${node.id}" has no 'api' or 'any' start.`, 'subchain_entry');
      }
      session.emit('subchain.enter', { versionId: result.versionId, slug: ir.slug }, node.id);
      session.state.frames.push({ versionId: result.versionId, nodeId: entry, session: {}, run: result.run, callerNodeId: node.id, ...(result.agentCallId ? { agentCallId: result.agentCallId } : {}) });
      return false;
    }
  }
}

/**
 * Steps through nodes until the session waits or ends. Guards against a loop that
 * never waits (the compiler rejects those; plugins or gotos could still make one).
 */
export async function advance(session: Session, loadIr: IrLoader): Promise<void> {
  let steps = 0;
  session.state.wait = null;
  while (!session.ended) {
    const nodeId = session.frame.nodeId;
    if (nodeId === null) {
      endFrame(session, 'completed');
      continue;
    }
    if (++steps > session.limits.stepsPerWait) {
      throw ApplicationFailure.nonRetryable(
        `More than ${session.limits.stepsPerWait} nodes ran without waiting (last: "${nodeId}"): the chain loops. Add an ask or delay to the loop.`,
        'runaway_loop',
      );
    }
    const node = session.node(nodeId);
    session.emit('node.enter', { type: node.type }, node.id);
    const result = await runNode(session, node);
    if (await apply(session, node, result, loadIr)) return;
  }
}

/** Resumes an ask with a reply, then steps on. */
export async function resumeWithReply(session: Session, message: InboundMessage, loadIr: IrLoader): Promise<void> {
  const wait = session.state.wait;
  if (wait?.kind !== 'reply') throw new Error('resumeWithReply outside a reply wait');
  const node = session.node(wait.nodeId);
  if (node.type !== 'ask') throw new Error(`Node "${node.id}" is not an ask node`);
  session.state.wait = null;
  const result = askReply(session, node, message, wait.attempts, wait.deadline);
  if (await apply(session, node, result, loadIr)) return;
  await advance(session, loadIr);
}

/** Resumes a waiting agent (a reply, or an operator's decision already recorded), then steps on. */
export async function resumeAgent(session: Session, message: InboundMessage | undefined, loadIr: IrLoader): Promise<void> {
  const wait = session.state.wait;
  if (wait?.kind !== 'agent') throw new Error('resumeAgent outside an agent wait');
  const node = session.node(wait.nodeId);
  if (node.type !== 'agent') throw new Error(`Node "${node.id}" is not an agent node`);
  session.state.wait = null;
  const result = await agentStep(session, node, workflowInfo().workflowId, { callId: wait.callId, ...(message ? { message } : {}) });
  if (await apply(session, node, result, loadIr)) return;
  await advance(session, loadIr);
}

/** Leaves a waiting node through `port` ('timeout' of an ask, 'next' of a delay), then steps on. */
export async function resumeThrough(session: Session, port: string, loadIr: IrLoader): Promise<void> {
  const wait = session.state.wait;
  if (!wait || wait.kind === 'entry') throw new Error('resumeThrough outside a node wait');
  const node = session.node(wait.nodeId);
  session.state.wait = null;
  if (port === 'timeout' && (node.next.timeout ?? []).length === 0) {
    // An unhandled ask timeout ends the chain with outcome 'timeout'.
    endFrame(session, 'timeout');
  } else {
    follow(session, node, port);
  }
  await advance(session, loadIr);
}
