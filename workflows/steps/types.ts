import type { BuiltinIrNode, JsonObject } from '../../chain/runtime.ts';
import type { Wait } from '../types.ts';

/** The IR node of one built-in type, with its precise config (`IrNodeOf<'ask'>`). */
export type IrNodeOf<T extends BuiltinIrNode['type']> = Extract<BuiltinIrNode, { type: T }>;

/** What a node step tells the interpreter to do next. */
export type StepResult =
  /** Follow the edges of this port (first matching edge wins; none = fall off). */
  | { kind: 'port'; port: string }
  /** Continue at a node of the same chain (goto). */
  | { kind: 'jump'; nodeId: string }
  /** Stop here until a message or a timer. */
  | { kind: 'wait'; wait: Wait }
  /** End this frame (the session, or return from a sub-chain). */
  | { kind: 'end'; outcome: string }
  /** Run another chain version inline, then continue through this node's 'next'. */
  | { kind: 'call'; versionId: string; run: JsonObject; agentCallId?: string };
