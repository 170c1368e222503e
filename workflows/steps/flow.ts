import {
  applyAssignments,
  chooseVariant,
  evaluateRules,
  resolveDelay,
  type BuiltinIrNode,
  type JsonObject,
} from '../../chain/runtime.ts';
import type { Session } from '../session.ts';
import type { StepResult } from './types.ts';

type NodeOf<T extends BuiltinIrNode['type']> = Extract<BuiltinIrNode, { type: T }>;

/** condition: 'true' when the rules hold, else 'false'. */
export function conditionStep(session: Session, node: NodeOf<'condition'>): StepResult {
  return { kind: 'port', port: evaluateRules(node.config.rules, session.scope()) ? 'true' : 'false' };
}

/** switch: the first case whose rules hold, else 'else'. */
export function switchStep(session: Session, node: NodeOf<'switch'>): StepResult {
  const scope = session.scope();
  const match = node.config.cases.find((c) => evaluateRules(c.rules, scope));
  return { kind: 'port', port: match?.id ?? 'else' };
}

/** set: assignments top to bottom; problems are logged and the rest still applies. */
export function setStep(session: Session, node: NodeOf<'set'>): StepResult {
  const { scope, problems } = applyAssignments(session.scope(), node.config.assignments);
  session.applyScope(scope);
  for (const a of node.config.assignments) session.emit('variable.set', { variable: a.variable }, node.id);
  for (const p of problems) session.emit('set.problem', p as unknown as JsonObject, node.id);
  return { kind: 'port', port: 'next' };
}

/** delay: a durable timer for a duration or until a time; a bad time is logged and skipped. */
export function delayStep(session: Session, node: NodeOf<'delay'>): StepResult {
  const now = Date.now();
  const delay = resolveDelay(node.config, now, session.scope());
  if (!delay.ok) {
    session.emit('delay.skipped', { reason: delay.message }, node.id);
    return { kind: 'port', port: 'next' };
  }
  if (delay.ms <= 0) return { kind: 'port', port: 'next' };
  session.emit('delay.start', { ms: delay.ms, wakeAt: new Date(now + delay.ms).toISOString() }, node.id);
  return { kind: 'wait', wait: { kind: 'timer', nodeId: node.id, wakeAt: now + delay.ms } };
}

/** split: a weighted variant chosen deterministically per session and node. */
export function splitStep(session: Session, node: NodeOf<'split'>, workflowId: string): StepResult {
  const variant = chooseVariant(node.config.variants, `${workflowId}:${node.id}`);
  session.emit('split.choice', { variant: variant.id, chainId: session.input.chainId }, node.id);
  return { kind: 'port', port: variant.id };
}

/** sub-chain: runs the pinned version inline with its inputs as run.*. */
export function subchainStep(session: Session, node: NodeOf<'subchain'>): StepResult {
  const versionId = node.config.versionId;
  if (!versionId) {
    throw new Error(`Sub-chain node "${node.id}" has no pinned version; publish the chain again so "${node.config.chainRef}" is resolved.`);
  }
  const run: JsonObject = {};
  for (const input of node.config.inputs) run[input.param] = session.render(input.value);
  return { kind: 'call', versionId, run };
}
