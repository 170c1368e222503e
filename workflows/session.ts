import { ApplicationFailure, patched } from '@temporalio/workflow';
import {
  clipText,
  getVariable,
  parseCommand,
  renderTemplate,
  resolveLanguage,
  setVariable,
  type ChainIR,
  type IrNode,
  type JsonObject,
  type JsonValue,
  type ReadableScope,
  type Scope,
  utf8Length,
} from '../chain/runtime.ts';
import type {
  DialogueInput,
  Frame,
  InboundMessage,
  OutboundMessage,
  RunEventRecord,
  SessionLimits,
  SessionState,
} from './types.ts';

const PERSISTED = new Set(['user', 'chat', 'bot']);
const SCOPES = ['session', 'user', 'chat', 'bot'] as const;

/** patched() id of the state cap (checked only when a write passes it). */
export const STATE_CAP = 'state-cap';

/** UTF-8 bytes of the state's JSON: what continue-as-new carries. */
export function stateBytes(state: SessionState): number {
  return utf8Length(JSON.stringify(state));
}

/** The failure of a write that passes the state cap (leaves through 'error' where there is one). */
export function stateTooLarge(variable: string, bytes: number, limit: number): ApplicationFailure {
  return ApplicationFailure.nonRetryable(
    clipText(`Writing ${variable} would make the session's state ${bytes} bytes, over its limit of ${limit}; store less in ${variable} (map only the fields you need)`, 1024),
    'state_too_large',
    { variable, bytes, limit },
  );
}
const TRANSCRIPT_TAIL = 50;
const MAX_TURNS = 50;

/**
 * The in-memory session: state (what continue-as-new carries), the loaded IRs (never
 * carried), the run-event buffer and the replies of the current step. Pure bookkeeping,
 * no Temporal calls: the interpreter and the workflow drive it.
 */
export class Session {
  state: SessionState;
  readonly input: DialogueInput;
  readonly limits: SessionLimits;
  readonly irs = new Map<string, ChainIR>();
  /** Published number of each loaded version (null for drafts). */
  readonly versionNumbers = new Map<string, number | null>();
  /** Events not yet flushed to PostgreSQL. */
  pending: RunEventRecord[] = [];
  /** Last events, for the `state` query. */
  tail: RunEventRecord[] = [];
  /** Replies produced since the last wait point, to deliver and to answer Updates with. */
  outbox: OutboundMessage[] = [];
  /** Id of the inbound message being processed (replies answer it). */
  answering: string | undefined;
  /** Inbound messages taken from the inbox since this workflow run started. */
  messagesThisRun = 0;
  ended = false;
  outcome = 'completed';

  constructor(input: DialogueInput, state: SessionState, limits: SessionLimits) {
    this.input = input;
    this.state = state;
    this.limits = limits;
  }

  /** The version of the root chain (changes when the session is upgraded). */
  get rootVersionId(): string {
    const root = this.state.frames[0];
    if (!root) throw new Error('The session has no frame');
    return root.versionId;
  }

  get frame(): Frame {
    const frame = this.state.frames[this.state.frames.length - 1];
    if (!frame) throw new Error('The session has no frame');
    return frame;
  }

  ir(versionId = this.frame.versionId): ChainIR {
    const ir = this.irs.get(versionId);
    if (!ir) throw new Error(`Chain version ${versionId} is not loaded`);
    return ir;
  }

  node(nodeId: string, versionId = this.frame.versionId): IrNode {
    const node = this.ir(versionId).nodes[nodeId];
    if (!node) throw new Error(`Node "${nodeId}" does not exist in chain version ${versionId}`);
    return node;
  }

  /** The variables templates and rules see, for the current frame. */
  scope(): Scope {
    const frame = this.frame;
    return {
      message: this.state.message,
      session: frame.session,
      user: this.state.user,
      chat: this.state.chat,
      bot: this.state.bot,
      run: frame.run,
    };
  }

  /**
   * Applies a scope produced by chain/ helpers back to the frame and shared scopes. A
   * write that takes the state over `limits.maxStateBytes` is undone and throws
   * `state_too_large` naming the variable (`variable`, else the biggest one changed).
   */
  applyScope(next: Scope, variable?: string): void {
    const before = this.scope();
    const dirty = [...this.state.dirty];
    let biggest = { name: variable ?? '', size: -1 };
    for (const name of SCOPES) {
      for (const key of new Set([...Object.keys(before[name]), ...Object.keys(next[name])])) {
        const after = JSON.stringify(next[name][key]);
        if (JSON.stringify(before[name][key]) === after) continue;
        if (name !== 'session') this.markDirty(`${name}.${key}`);
        if (variable === undefined && (after?.length ?? 0) > biggest.size) biggest = { name: `${name}.${key}`, size: after?.length ?? 0 };
      }
    }
    this.state.user = next.user;
    this.state.chat = next.chat;
    this.state.bot = next.bot;
    this.frame.session = next.session;
    const bytes = stateBytes(this.state);
    if (bytes > this.limits.maxStateBytes && patched(STATE_CAP)) {
      this.state.user = before.user;
      this.state.chat = before.chat;
      this.state.bot = before.bot;
      this.frame.session = before.session;
      this.state.dirty = dirty;
      throw stateTooLarge(biggest.name || 'a variable', bytes, this.limits.maxStateBytes);
    }
  }

  /** A function that puts the variables (and their dirty marks) back as they are now. */
  snapshot(): () => void {
    const { user, chat, bot } = this.state;
    const frame = this.frame;
    const session = frame.session;
    const dirty = [...this.state.dirty];
    return () => {
      Object.assign(this.state, { user, chat, bot, dirty });
      frame.session = session;
    };
  }

  /** Sets one variable (`session.x`, `user.name`, …); user/chat/bot changes are saved at the next wait. */
  set(variable: string, value: JsonValue): void {
    this.applyScope(setVariable(this.scope(), variable, value), variable);
    this.emit('variable.set', { variable, value: summarize(value) });
  }

  get(variable: string): JsonValue | undefined {
    return getVariable(this.scope() as ReadableScope, variable);
  }

  private markDirty(path: string): void {
    const [scope, key] = path.split('.');
    if (!scope || !key || !PERSISTED.has(scope)) return;
    const name = `${scope}.${key}`;
    if (!this.state.dirty.includes(name)) this.state.dirty.push(name);
  }

  /**
   * Renders a template against the current scope (secrets are never available here).
   * `escape` escapes the inserted values (not the template's own text) for a message
   * format: 'html' or 'markdown' (Telegram MarkdownV2).
   */
  render(template: string, escape: 'none' | 'html' | 'markdown' = 'none'): string {
    return renderTemplate(template, this.scope(), escape === 'none' ? {} : { escape });
  }

  /** The language for per-language variants: session.language, the user's, else the default. */
  language(): string {
    return resolveLanguage(this.ir(), this.scope());
  }

  emit(type: string, payload: JsonObject = {}, nodeId?: string, at?: number): RunEventRecord {
    const event: RunEventRecord = { seq: this.state.seq++, type, payload, at: at ?? Date.now(), ...(nodeId ? { nodeId } : {}) };
    this.pending.push(event);
    this.tail.push(event);
    if (this.tail.length > TRANSCRIPT_TAIL) this.tail.splice(0, this.tail.length - TRANSCRIPT_TAIL);
    return event;
  }

  /** Queues a reply: recorded in the transcript, delivered and returned at the next wait. */
  reply(message: Omit<OutboundMessage, 'id' | 'replyTo'>): void {
    const event = this.emit('message.out', { ...(message as unknown as JsonObject) }, message.nodeId);
    const draft = this.state.draft;
    if (draft !== undefined) delete this.state.draft;
    const out: OutboundMessage = { ...message, id: `m${event.seq}`, ...(this.answering ? { replyTo: this.answering } : {}), ...(draft ? { replaces: draft } : {}) };
    event.payload = out as unknown as JsonObject;
    this.outbox.push(out);
    this.remember('assistant', message.text);
  }

  remember(role: 'user' | 'assistant', content: string): void {
    if (!content) return;
    this.state.turns.push({ role, content: content.slice(0, 4000) });
    if (this.state.turns.length > MAX_TURNS) this.state.turns.splice(0, this.state.turns.length - MAX_TURNS);
  }

  /** Queues an inbound message unless its id was seen; returns false for a duplicate. */
  enqueue(message: InboundMessage): boolean {
    if (this.state.seen.includes(message.id) || this.state.inbox.some((m) => m.id === message.id)) return false;
    this.state.inbox.push(message);
    return true;
  }

  /** Takes the next inbound message: it becomes `message.*` and fills user/chat facts. */
  take(): InboundMessage | undefined {
    const message = this.state.inbox.shift();
    if (!message) return undefined;
    this.state.seen.push(message.id);
    if (this.state.seen.length > this.limits.dedupeWindow) this.state.seen.splice(0, this.state.seen.length - this.limits.dedupeWindow);
    this.messagesThisRun += 1;
    this.answering = message.id;
    this.state.message = messageScope(message);
    for (const [scope, facts] of [['user', message.from], ['chat', message.chat]] as const) {
      for (const [key, value] of Object.entries(facts ?? {})) {
        if (value !== undefined && JSON.stringify(this.state[scope][key]) !== JSON.stringify(value)) {
          this.state[scope] = { ...this.state[scope], [key]: value };
          this.markDirty(`${scope}.${key}`);
        }
      }
    }
    this.emit('message.in', this.state.message);
    this.remember('user', typeof this.state.message.text === 'string' ? this.state.message.text : '');
    return message;
  }

  /** The current node of the innermost frame, for search attributes and the query. */
  currentNode(): string | null {
    return this.frame.nodeId;
  }
}

/** `message.*` as templates see it. */
export function messageScope(message: InboundMessage): JsonObject {
  const text = message.text ?? '';
  const command = message.buttonId ? undefined : parseCommand(text);
  const kind = message.kind ?? (message.buttonId ? 'button' : command ? 'command' : message.media ? 'media' : 'text');
  const scope: JsonObject = { id: message.id, kind, text, value: message.value ?? text };
  if (command) {
    scope.command = command.command;
    scope.args = command.args;
  }
  if (message.buttonId) scope.buttonId = message.buttonId;
  if (message.media) scope.media = message.media;
  if (message.contact) scope.contact = message.contact;
  if (message.location) scope.location = message.location;
  if (message.event !== undefined) scope.event = message.event;
  if (message.member) scope.member = message.member;
  if (message.date !== undefined) scope.date = message.date;
  if (message.meta) scope.meta = message.meta;
  return scope;
}

/** Keeps run events small: long strings and big objects are cut. */
function summarize(value: JsonValue): JsonValue {
  const text = JSON.stringify(value);
  if (text.length <= 2000) return value;
  return `${text.slice(0, 2000)}… (${text.length} chars)`;
}
