import { resolveDelay } from '../../chain/runtime.ts';
import type { Session } from '../session.ts';
import type { IrNodeOf, StepResult } from './types.ts';

/** delay: a durable timer for a duration or until a time; a bad time is logged and skipped. */
export function delayStep(session: Session, node: IrNodeOf<'delay'>): StepResult {
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
