import type { StepResult } from './types.ts';

/** start: the session (or a sub-chain call) enters here and goes on through 'next'. */
export function startStep(): StepResult {
  return { kind: 'port', port: 'next' };
}
