import { localizeAsk, parseDuration, validateAnswer } from '../../chain/runtime.ts';
import type { Session } from '../session.ts';
import type { InboundMessage } from '../types.ts';
import { renderButtons } from './message.ts';
import type { IrNodeOf, StepResult } from './types.ts';

type AskNode = IrNodeOf<'ask'>;

function sendPrompt(session: Session, node: AskNode, retry: boolean): void {
  const c = node.config;
  const localized = localizeAsk(c, session.language());
  const text = retry && localized.retryText ? localized.retryText : localized.prompt;
  const buttons = renderButtons(session, localized.buttons);
  session.reply({ nodeId: node.id, text: session.render(text), format: c.format, ...(buttons ? { buttons } : {}) });
}

/** ask, on arrival: send the question and wait for the reply (and the timeout, if any). */
export function askStep(session: Session, node: AskNode): StepResult {
  sendPrompt(session, node, false);
  const timeout = node.config.timeout;
  return {
    kind: 'wait',
    wait: { kind: 'reply', nodeId: node.id, attempts: 0, ...(timeout ? { deadline: Date.now() + parseDuration(timeout) } : {}) },
  };
}

/**
 * ask, on a reply: a valid answer is saved and leaves through 'next'; an invalid one is
 * re-asked. With an 'invalid' edge, after `retries` re-asks the next invalid reply leaves
 * through it; without one, the question is re-asked until a valid reply comes.
 */
export function askReply(session: Session, node: AskNode, message: InboundMessage, attempts: number, deadline?: number): StepResult {
  const text = typeof session.state.message.text === 'string' ? session.state.message.text : '';
  const check = validateAnswer(node.config, { text, ...(message.value !== undefined ? { value: message.value } : {}) });
  if (check.ok) {
    session.set(node.config.variable, check.value);
    return { kind: 'port', port: 'next' };
  }
  session.emit('ask.invalid', { attempt: attempts + 1, retries: node.config.retries }, node.id);
  if ((node.next.invalid ?? []).length > 0 && attempts >= node.config.retries) return { kind: 'port', port: 'invalid' };
  sendPrompt(session, node, true);
  return { kind: 'wait', wait: { kind: 'reply', nodeId: node.id, attempts: attempts + 1, ...(deadline !== undefined ? { deadline } : {}) } };
}
