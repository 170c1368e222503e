import type { JsonObject, JsonValue } from '../chain/runtime.ts';

/** Where a session talks: the web chat (and simulator), Telegram, or an API-started run. */
export type Channel = 'web' | 'telegram_bot' | 'telegram_user' | 'api';

/** An inbound message as channels deliver it (signal `message`, Update `send`). */
export interface InboundMessage {
  /** The channel's message id: a message with an id seen before is processed once. */
  id: string;
  kind?: 'text' | 'command' | 'button' | 'media' | 'contact' | 'location' | 'event';
  text?: string;
  /** Pressed button's id and value (inline callbacks, reply keyboards, web buttons). */
  buttonId?: string;
  value?: string;
  media?: JsonObject;
  contact?: JsonObject;
  location?: JsonObject;
  /**
   * A Telegram group event ('member_joined', 'member_left', 'bot_added', 'bot_removed'):
   * it starts the chain's `telegram_event` start for it (a running session restarts there).
   */
  event?: string;
  /** The member the event is about: id, first_name, username (the bot itself for bot_*). */
  member?: JsonObject;
  /** Epoch seconds as the channel reported it. */
  date?: number;
  /** Sender facts that fill `user.*` built-ins (first_name, username, language_code…). */
  from?: JsonObject;
  /** Chat facts that fill `chat.*` built-ins. */
  chat?: JsonObject;
  /** Annotations of the gateway's plugin hooks, by plugin (`message.meta.<plugin>`, '-' as '_'). */
  meta?: JsonObject;
}

export interface OutboundButton {
  id: string;
  text: string;
  url?: string;
  value?: string;
}

/** A message the bot sends, rendered (no templates left), without secrets. */
export interface OutboundMessage {
  /** Unique within the workflow id: `{executionSeq}` based, stable under replay. */
  id: string;
  nodeId: string;
  text: string;
  format: 'plain' | 'markdown' | 'html';
  media?: Array<{ kind: string; url: string; caption?: string }>;
  buttons?: { kind: 'inline' | 'reply'; rows: OutboundButton[][]; oneTime?: boolean };
  disablePreview?: boolean;
  /** Telegram: edit the session's last bot message (editMessageText) instead of sending one. */
  edit?: boolean;
  /**
   * Telegram: the id of the draft an agent streamed this answer into (activities/agent-stream.ts):
   * the reply edits that message instead of sending a new one.
   */
  replaces?: string;
  /** Id of the inbound message this answers, when there is one. */
  replyTo?: string;
}

/** Ids only: never secrets, never the IR. */
export interface DialogueInput {
  chainId: string;
  versionId: string;
  channel: Channel;
  botId?: string;
  /**
   * Keys of the persisted scopes, e.g. user `web:{visitorId}`, chat `web:{visitorId}`,
   * bot `chain:{chainId}`.
   */
  owners: { user: string; chat: string; bot: string };
  /** Input of an API-started run: becomes `run.*`. */
  input?: JsonObject;
  /** Entry key to start from ('api', 'schedule:<node>', 'webhook:<hook>'); else the first message picks it. */
  entry?: string;
  limits?: Partial<SessionLimits>;
  /** Set only by continue-as-new. */
  resume?: SessionState;
  /**
   * Set only by continue-as-new when messages arrived as the previous session of the same
   * workflow id ended: they start this one (a chat's `/start` right after the end).
   */
  next?: InboundMessage[];
}

export interface SessionLimits {
  /** Inbound messages per workflow run before continue-as-new. */
  messagesPerRun: number;
  /** Message ids remembered for dedupe (carried across continue-as-new). */
  dedupeWindow: number;
  /** Node steps without a wait before the session is failed (a runaway loop). */
  stepsPerWait: number;
  /** Depth of nested sub-chain calls. */
  maxCallDepth: number;
  /**
   * Cap on the session's state (variables, inbox, turns… — what continue-as-new carries),
   * in UTF-8 bytes of its JSON; headroom below Temporal's 2 MB payload limit. The write
   * that passes it leaves its node through 'error', else fails the session with
   * `state_too_large`.
   */
  maxStateBytes: number;
}

export const DEFAULT_LIMITS: SessionLimits = {
  messagesPerRun: 500,
  dedupeWindow: 1000,
  stepsPerWait: 1000,
  maxCallDepth: 16,
  maxStateBytes: 1_000_000,
};

/** One level of the call stack: the root chain or a sub-chain called inline. */
export interface Frame {
  versionId: string;
  /** The node the interpreter is at (or resumes from) in this frame's chain. */
  nodeId: string | null;
  /** This frame's `session.*` and `run.*` (a sub-chain gets its own). */
  session: JsonObject;
  run: JsonObject;
  /** In a sub-chain frame: the caller's sub-chain node (or agent node). */
  callerNodeId?: string;
  /** In a sub-chain frame run as an agent's tool: the tool call it answers. */
  agentCallId?: string;
  /** The agent node running in this frame: its plan so far (see workflows/steps/agent.ts). */
  agent?: AgentRun;
}

/** A chat message of an agent's conversation, in the OpenAI wire shape. */
export interface AgentMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string | null;
  tool_calls?: Array<{ id: string; type: 'function'; function: { name: string; arguments: string } }>;
  tool_call_id?: string;
}

/** One tool call the model asked for. */
export interface AgentCall {
  id: string;
  name: string;
  args: JsonObject;
  /** The text that goes back to the model (clipped to 8 KB); absent while it runs. */
  result?: string;
  /** Approval: undefined = not asked yet / not needed; null = asked, waiting. */
  approved?: boolean | null;
  by?: string;
}

/** An agent node's loop state, carried across continue-as-new in its frame. */
export interface AgentRun {
  nodeId: string;
  messages: AgentMessage[];
  iterations: number;
  calls: AgentCall[];
  tokens: number;
}

export type Wait =
  /** Waiting for the first message to pick an entry. */
  | { kind: 'entry' }
  /** An ask node waiting for the reply; `deadline` in epoch ms. */
  | { kind: 'reply'; nodeId: string; deadline?: number; attempts: number }
  /** A delay node; `wakeAt` in epoch ms. */
  | { kind: 'timer'; nodeId: string; wakeAt: number }
  /** An agent waiting for the user (ask_user, a 'user' approval) or an operator's approval signal. */
  | { kind: 'agent'; nodeId: string; callId: string; from: 'user' | 'operator' };

/** Everything continue-as-new carries: never the IR. */
export interface SessionState {
  versionNumber: number | null;
  frames: Frame[];
  wait: Wait | null;
  /** Shared scopes (persisted per owner key) and the current inbound message. */
  user: JsonObject;
  chat: JsonObject;
  bot: JsonObject;
  message: JsonObject;
  /** Unread inbound messages. */
  inbox: InboundMessage[];
  /** Recently seen message ids, newest last. */
  seen: string[];
  /** Next run-event sequence number (per workflow id, across continue-as-new). */
  seq: number;
  /** Recent conversation turns for LLM memory. */
  turns: Array<{ role: 'user' | 'assistant'; content: string }>;
  /** Agent nodes' running summaries of older turns (memory kind 'summary'), by node id. */
  summaries?: Record<string, string>;
  /** Tokens the session's agent calls used (the per-session spend cap). */
  agentTokens?: number;
  /** A streamed answer's draft (Telegram) that the session's next reply replaces (see OutboundMessage.replaces). */
  draft?: string;
  /** Names of user/chat/bot variables changed since the last save. */
  dirty: string[];
}

export interface RunEventRecord {
  seq: number;
  type: string;
  nodeId?: string;
  payload: JsonObject;
  /** Epoch ms (workflow time). */
  at: number;
}

/** The `upgrade` signal's argument. */
export interface UpgradeRequest {
  versionId: string;
  /** Old node id → new node id; ids not listed stay the same. */
  nodeMap: Record<string, string>;
}

/** The `approval` signal's argument: an operator's decision on an agent tool call. */
export interface ApprovalDecision {
  callId: string;
  approved: boolean;
  by: string;
}

/** What the `send` Update answers. */
export interface SendResult {
  messageId: string;
  /** The bot's replies to this message, produced until the next wait. */
  replies: OutboundMessage[];
  /** The message was seen before and not processed again. */
  duplicate: boolean;
  /** The session is in a timed wait: the message is queued and answered later. */
  queued: boolean;
  /** The session ended while answering. */
  ended: boolean;
  /** The node the session now waits at, if any. */
  waitingAt: string | null;
}

export interface DialogueResult {
  outcome: string;
  endedAt: string | null;
}

/** What the `state` query answers: no secrets (the workflow never holds any). */
export interface SessionView {
  chainId: string;
  versionId: string;
  versionNumber: number | null;
  channel: Channel;
  currentNode: string | null;
  wait: Wait | null;
  callStack: Array<{ versionId: string; nodeId: string | null; callerNodeId?: string }>;
  variables: { session: JsonObject; user: JsonObject; chat: JsonObject; bot: JsonObject; run: JsonObject; message: JsonObject };
  inbox: number;
  transcript: RunEventRecord[];
  ended: boolean;
}

export type { JsonObject, JsonValue };
