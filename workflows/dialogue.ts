import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  ContinueAsNew,
  continueAsNew,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { clipText, findEntry, findEventEntry, mapNode, setVariable, type JsonObject, type JsonValue } from '../chain/runtime.ts';
import type { EngineActivities, LoadedVersion, PersistedVariables, VariableWriteRecord } from '../activities/engine.ts';
import { approvalSignal, messageSignal, sendUpdate, stateQuery, stopSignal, upgradeSignal } from './definitions.ts';
import { advance, resumeAgent, resumeThrough, resumeWithReply } from './interpreter.ts';
import { agentWaitOver, applyApproval } from './steps/agent.ts';
import { BotIdKey, ChainIdKey, ChainVersionKey, ChannelKey, CurrentNodeKey } from './search-attributes.ts';
import { Session, STATE_CAP, stateBytes, stateTooLarge } from './session.ts';
import { ERROR_MESSAGE_LIMIT } from './steps/activity-step.ts';
import {
  DEFAULT_LIMITS,
  type DialogueInput,
  type DialogueResult,
  type InboundMessage,
  type SendResult,
  type SessionState,
  type SessionView,
  type UpgradeRequest,
} from './types.ts';

// Bounded: ~2 minutes of retries (a database restart), then the session fails with
// `persistence_failed` instead of retrying forever. Errors no retry can fix (a value
// PostgreSQL refuses) are non-retryable (activities/engine.ts). The retry policy of a
// local activity is not in the command stream; the backoff stays below the SDK's
// local-retry threshold (1 minute), so retries never become timers.
const local = proxyLocalActivities<Pick<EngineActivities, 'loadChainVersion' | 'startSession' | 'flushRunEvents'>>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500ms', maximumInterval: '30s', maximumAttempts: 10 },
});

const engine = proxyActivities<Pick<EngineActivities, 'loadVariables' | 'saveVariables' | 'deliverMessage'>>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1s', maximumInterval: '1 minute' },
});

/**
 * Deliveries of a Telegram user account run on its own task queue `account:{botId}`, served
 * only by the process that holds the account's MTProto connection (api/telegram/accounts.ts).
 * Same command, other queue: replay compares activity type and id, not the queue.
 */
const accountEngine = (botId: string) =>
  proxyActivities<Pick<EngineActivities, 'deliverMessage'>>({
    taskQueue: `account:${botId}`,
    startToCloseTimeout: '30 seconds',
    retry: { initialInterval: '1s', maximumInterval: '1 minute' },
  });

/** Failure type of `deliverMessage` when the Telegram user blocked the bot (activities/telegram.ts). */
const BLOCKED_FAILURE = 'telegram_blocked';

/** patched() ids: each marks an interpreter change that altered the command order. */
export const FLUSH_SAVES_VARIABLES = 'flush-saves-variables';
export const BATCH_BURSTS = 'batch-bursts';
export const RECHECK_INTERRUPTS = 'recheck-interrupts';
export const CONTINUE_IS_NOT_FAILURE = 'continue-is-not-failure';
export const NEXT_SESSION = 'next-session';
export const LOCAL_SESSION_START = 'local-session-start';

interface Ticket {
  done: boolean;
  queued: boolean;
  ended: boolean;
  replies: SendResult['replies'];
}

function initialState(input: DialogueInput): SessionState {
  return {
    versionNumber: null,
    frames: [{ versionId: input.versionId, nodeId: null, session: {}, run: input.input ?? {} }],
    wait: null,
    user: {},
    chat: {},
    bot: {},
    message: {},
    inbox: input.next ?? [],
    seen: [],
    seq: 0,
    turns: [],
    dirty: [],
  };
}

/**
 * The run-event flush; when it fails for good (retries exhausted, or a value PostgreSQL
 * refuses), the session fails with `persistence_failed` rather than spinning.
 */
async function flush(input: Parameters<EngineActivities['flushRunEvents']>[0]): Promise<void> {
  try {
    await local.flushRunEvents(input);
  } catch (err) {
    if (!(err instanceof ActivityFailure || err instanceof ApplicationFailure)) throw err;
    const cause = clipText((err instanceof ActivityFailure ? err.cause?.message : undefined) ?? err.message, ERROR_MESSAGE_LIMIT);
    throw ApplicationFailure.nonRetryable(`The session could not be saved to the database and stops: ${cause}`, 'persistence_failed');
  }
}

/** Rejects malformed messages before they reach workflow history. */
function validateInbound(message: InboundMessage): void {
  if (typeof message !== 'object' || message === null) throw new Error('message must be an object');
  if (typeof message.id !== 'string' || message.id.length === 0 || message.id.length > 200) {
    throw new Error('message.id must be a non-empty string of at most 200 characters (the channel message id)');
  }
  if (message.text !== undefined && (typeof message.text !== 'string' || message.text.length > 16_384)) {
    throw new Error('message.text must be a string of at most 16384 characters');
  }
  if (message.event !== undefined && (typeof message.event !== 'string' || !/^[a-z_]{1,64}$/.test(message.event))) {
    throw new Error("message.event must be an event name such as 'member_joined'");
  }
  if (message.member !== undefined && (typeof message.member !== 'object' || message.member === null || Array.isArray(message.member))) {
    throw new Error('message.member must be an object');
  }
  if (message.text === undefined && message.buttonId === undefined && message.media === undefined && message.contact === undefined && message.location === undefined && message.event === undefined) {
    throw new Error('message needs text, buttonId, media, contact, location or event');
  }
}

/**
 * One dialogue session: a chain version interpreted node by node. Waits (an ask, a
 * delay, the first message) are durable; messages arrive through the `message` signal or
 * the `send` Update; the `state` query shows where the session is.
 */
export async function dialogue(input: DialogueInput): Promise<DialogueResult> {
  const limits = { ...DEFAULT_LIMITS, ...input.limits };
  const resumed = input.resume !== undefined;
  // Since LOCAL_SESSION_START a new session loads its IR and its persisted variables in
  // one local activity (before: the IR in a local activity, then the variables in a
  // remote one, two more trips through the server). Decided here, first thing in the
  // first workflow task, before any command: a patch decided between the local
  // activities of that task does not replay when signals land in it.
  const startLocally = !resumed && patched(LOCAL_SESSION_START);
  const session = new Session(input, input.resume ?? initialState(input), limits);
  const state = session.state;
  const tickets = new Map<string, Ticket>();
  let stopReason: string | undefined;
  let pendingUpgrade: UpgradeRequest | undefined;
  /** Something other than a message or a timer needs the loop: stop or upgrade. */
  const interrupted = () => stopReason !== undefined || pendingUpgrade !== undefined;
  let lastCurrentNode: string | null | undefined;

  setHandler(messageSignal, (message) => {
    validateInbound(message);
    if (!session.enqueue(message)) session.emit('message.duplicate', { id: message.id });
  });
  setHandler(stopSignal, (reason) => {
    stopReason = reason || 'stopped';
  });
  setHandler(upgradeSignal, (request) => {
    pendingUpgrade = request;
  });
  setHandler(approvalSignal, (decision) => {
    if (typeof decision?.callId !== 'string' || !applyApproval(session, decision)) session.emit('agent.approval_unmatched', { callId: String(decision?.callId ?? '').slice(0, 200) });
  });
  setHandler(stateQuery, (): SessionView => view(session));
  setHandler(
    sendUpdate,
    async (message): Promise<SendResult> => {
      if (session.ended || !session.enqueue(message)) {
        return { messageId: message.id, replies: [], duplicate: !session.ended, queued: false, ended: session.ended, waitingAt: session.ended ? null : session.currentNode() };
      }
      const ticket: Ticket = { done: false, queued: false, ended: false, replies: [] };
      tickets.set(message.id, ticket);
      await condition(() => ticket.done);
      tickets.delete(message.id);
      return { messageId: message.id, replies: ticket.replies, duplicate: false, queued: ticket.queued, ended: ticket.ended, waitingAt: session.ended ? null : session.currentNode() };
    },
    { validator: validateInbound },
  );

  const keepIr = (versionId: string, loaded: LoadedVersion): void => {
    session.irs.set(versionId, loaded.ir);
    session.versionNumbers.set(versionId, loaded.versionNumber);
    if (versionId === session.rootVersionId) state.versionNumber = loaded.versionNumber;
  };
  const loadIr = async (versionId: string): Promise<void> => {
    if (session.irs.has(versionId)) return;
    keepIr(versionId, await local.loadChainVersion(versionId));
  };

  /** Flush, deliver, save, index: everything that happens at each wait point. */
  const waitPoint = async (status: 'waiting' | 'completed' | 'failed' | 'stopped'): Promise<void> => {
    const replies = session.outbox;
    session.outbox = [];
    if (replies.length > 0 && (input.channel === 'telegram_bot' || input.channel === 'telegram_user')) {
      try {
        const deliver = input.channel === 'telegram_user' && input.botId ? accountEngine(input.botId) : engine;
        await deliver.deliverMessage({ channel: input.channel, ...(input.botId ? { botId: input.botId } : {}), chatKey: input.owners.chat, messages: replies });
      } catch (err) {
        if (!(err instanceof ActivityFailure)) throw err;
        session.emit('delivery.failed', { count: replies.length, message: err.cause?.message ?? err.message });
        // The user blocked the bot: the session ends with outcome 'blocked' (no earlier
        // history has this failure type, so older sessions replay unchanged).
        if (err.cause instanceof ApplicationFailure && err.cause.type === BLOCKED_FAILURE) {
          session.emit('session.blocked', {});
          if (session.ended) session.outcome = 'blocked';
          else stopReason ??= 'blocked';
        }
      }
    }
    const writes: VariableWriteRecord[] = state.dirty.map((name) => {
      const [scope, key] = name.split('.') as ['user' | 'chat' | 'bot', string];
      return { scope, ownerKey: input.owners[scope], name: key, value: (state[scope][key] ?? null) as JsonValue | null };
    });
    state.dirty = [];
    // Since FLUSH_SAVES_VARIABLES, variables are saved by the flush's local activity in
    // its transaction: one round trip per wait instead of two. Older sessions replay the
    // separate saveVariables activity.
    const saveInFlush = patched(FLUSH_SAVES_VARIABLES);
    if (writes.length > 0 && !saveInFlush) await engine.saveVariables(writes);
    const currentNode = session.ended ? null : session.currentNode();
    const events = session.pending;
    session.pending = [];
    await flush({
      runId: workflowInfo().workflowId,
      executionId: workflowInfo().runId,
      run: {
        chainId: input.chainId,
        versionId: session.rootVersionId,
        versionNumber: state.versionNumber,
        channel: input.channel,
        botId: input.botId ?? null,
        status,
        currentNode,
      },
      events,
      ...(saveInFlush && writes.length > 0 ? { variables: writes } : {}),
    });
    if (currentNode !== lastCurrentNode && currentNode !== null) {
      upsertSearchAttributes([{ key: CurrentNodeKey, value: currentNode }]);
    }
    lastCurrentNode = currentNode;
    // Answer Updates: replies go to the message they answer; messages consumed since the
    // last wait are done; while a timer runs, queued messages are acknowledged as queued.
    for (const reply of replies) if (reply.replyTo) tickets.get(reply.replyTo)?.replies.push(reply);
    for (const [id, ticket] of tickets) {
      const stillQueued = state.inbox.some((m) => m.id === id);
      if (session.ended) Object.assign(ticket, { done: true, ended: true });
      else if (!stillQueued) ticket.done = true;
      else if (state.wait?.kind === 'timer') Object.assign(ticket, { done: true, queued: true });
    }
  };

  try {
    let persisted: PersistedVariables | undefined;
    if (startLocally) {
      const started = await local.startSession({ versionId: input.versionId, owners: input.owners });
      keepIr(input.versionId, started.version);
      persisted = started.variables;
    }
    for (const frame of state.frames) await loadIr(frame.versionId);
    const rootIr = () => session.ir(session.rootVersionId);

    if (!resumed) {
      const attributes: SearchAttributeUpdatePair[] = [
        { key: ChainIdKey, value: input.chainId },
        { key: ChannelKey, value: input.channel },
        ...(state.versionNumber !== null ? [{ key: ChainVersionKey, value: state.versionNumber }] : []),
        ...(input.botId ? [{ key: BotIdKey, value: input.botId }] : []),
      ];
      upsertSearchAttributes(attributes);
      persisted ??= await engine.loadVariables(input.owners);
      state.user = persisted.user;
      state.chat = persisted.chat;
      state.bot = persisted.bot;
      applyDefaults(session);
      session.emit('session.start', { chainId: input.chainId, versionId: input.versionId, versionNumber: state.versionNumber, channel: input.channel, ...(input.entry ? { entry: input.entry } : {}) });
      if (input.entry) {
        const entryNode = rootIr().entries[input.entry];
        if (!entryNode) throw ApplicationFailure.nonRetryable(`Chain "${rootIr().slug}" has no start for '${input.entry}'.`, 'no_entry');
        session.frame.nodeId = entryNode;
        await advance(session, loadIr);
      } else {
        state.wait = { kind: 'entry' };
      }
    }

    while (!session.ended) {
      // In a burst (messages already queued for an ask or the entry), go on without the
      // flush: a long run of local activities keeps one workflow task open while signals
      // pile up, and the server fails tasks whose buffered events overflow. The burst is
      // flushed, delivered and answered at the next real wait.
      const burst = state.inbox.length > 0 && state.wait?.kind !== 'timer' && stopReason === undefined;
      if (!(burst && patched(BATCH_BURSTS))) await waitPoint('waiting');
      if (stopReason) break;
      const info = workflowInfo();
      if (state.inbox.length === 0 && (info.continueAsNewSuggested || session.messagesThisRun >= limits.messagesPerRun)) {
        // Continue as new only between messages: no unread message, no Update in flight
        // (checked again after the flush, which yields to new signals and Updates).
        await condition(allHandlersFinished);
        if (state.inbox.length === 0 && allHandlersFinished()) {
          session.emit('session.continued', { messages: session.messagesThisRun, historyLength: info.historyLength });
          await waitPoint('waiting');
          // A stop or upgrade that arrived during the flushes (the API answered 202) is
          // handled here rather than lost with the run (since RECHECK_INTERRUPTS; before,
          // the session continued as new without it).
          const recheck = interrupted() && patched(RECHECK_INTERRUPTS);
          if (state.inbox.length === 0 && allHandlersFinished() && !recheck) {
            // A state over its cap would exceed the payload limit of continue-as-new and
            // wedge the session: it fails instead (writes are capped, but sub-chain inputs
            // and the inbox are not).
            const bytes = stateBytes(state);
            if (bytes > limits.maxStateBytes && patched(STATE_CAP)) throw stateTooLarge(largestVariable(session), bytes, limits.maxStateBytes);
            return await continueAsNew<typeof dialogue>({ ...input, versionId: session.rootVersionId, resume: state });
          }
          if (recheck && stopReason) break;
        }
      }
      if (pendingUpgrade) {
        const request = pendingUpgrade;
        pendingUpgrade = undefined;
        await applyUpgrade(session, request, loadIr);
        continue;
      }
      const wait = state.wait;
      if (!wait) throw new Error('The session stopped without a wait');
      switch (wait.kind) {
        case 'entry': {
          await condition(() => state.inbox.length > 0 || interrupted());
          if (interrupted()) break;
          const message = session.take();
          if (!message) break;
          const entry = pickEntry(session);
          if (!entry) {
            session.emit('message.unmatched', { id: message.id });
            session.ended = true;
            session.outcome = 'unmatched';
            break;
          }
          session.frame.nodeId = entry;
          await advance(session, loadIr);
          break;
        }
        case 'reply': {
          if (state.inbox.length === 0) {
            const remaining = wait.deadline === undefined ? undefined : wait.deadline - Date.now();
            const arrived =
              remaining === undefined
                ? (await condition(() => state.inbox.length > 0 || interrupted()), true)
                : remaining > 0 && (await condition(() => state.inbox.length > 0 || interrupted(), remaining));
            if (interrupted()) break;
            if (!arrived) {
              session.answering = undefined;
              session.emit('ask.timeout', {}, wait.nodeId);
              await resumeThrough(session, 'timeout', loadIr);
              break;
            }
          }
          const message = session.take();
          if (!message) break;
          if (message.event !== undefined) {
            // A group event is never a reply: it restarts the dialogue at its start node
            // (like a command), or is ignored when this version has no start for it.
            const eventEntry = findEventEntry(rootIr(), message.event);
            if (!eventEntry) {
              session.emit('message.unmatched', { id: message.id, event: message.event });
              break;
            }
            session.emit('event.restart', { event: message.event }, eventEntry);
            state.frames.splice(1);
            state.wait = null;
            session.frame.nodeId = eventEntry;
            await advance(session, loadIr);
            break;
          }
          const command = session.state.message.command;
          const commandEntry = typeof command === 'string' ? rootIr().entries[`command:${command}`] : undefined;
          if (commandEntry) {
            // A command restarts the dialogue at its start node, whatever was asked.
            session.emit('command.restart', { command: command ?? '' }, commandEntry);
            state.frames.splice(1);
            state.wait = null;
            session.frame.nodeId = commandEntry;
            await advance(session, loadIr);
          } else {
            await resumeWithReply(session, message, loadIr);
          }
          break;
        }
        case 'agent': {
          // An agent waits for the user (ask_user, a 'user' approval) or an operator's
          // `approval` signal: durable, however long it takes.
          if (wait.from === 'operator') {
            await condition(() => agentWaitOver(session, wait.callId) || interrupted());
            if (interrupted()) break;
            session.answering = undefined;
            await resumeAgent(session, undefined, loadIr);
            break;
          }
          await condition(() => state.inbox.length > 0 || interrupted());
          if (interrupted()) break;
          const message = session.take();
          if (!message) break;
          await resumeAgent(session, message, loadIr);
          break;
        }
        case 'timer': {
          const remaining = wait.wakeAt - Date.now();
          if (remaining > 0) await condition(interrupted, remaining);
          if (interrupted()) break;
          session.answering = undefined;
          await resumeThrough(session, 'next', loadIr);
          break;
        }
      }
    }
  } catch (err) {
    // continueAsNew() throws to end the run; since CONTINUE_IS_NOT_FAILURE that is not
    // recorded as a failure (before, every continue-as-new flushed `session.failed`).
    if (err instanceof ContinueAsNew && patched(CONTINUE_IS_NOT_FAILURE)) throw err;
    session.ended = true;
    session.emit('session.failed', { message: clipText(err instanceof Error ? err.message : String(err), ERROR_MESSAGE_LIMIT) });
    try {
      await waitPoint('failed');
    } catch (flushErr) {
      // The failure could not be saved either: the session still ends, with the first error.
      if (!(flushErr instanceof ApplicationFailure && flushErr.type === 'persistence_failed')) throw flushErr;
    }
    throw err;
  }

  if (stopReason && !session.ended) {
    session.ended = true;
    session.outcome = stopReason;
    session.emit('session.end', { outcome: stopReason, stopped: true });
    await waitPoint('stopped');
  } else {
    await waitPoint('completed');
  }
  // A chat's messages that arrived as the session ended (a signal after its last wait)
  // would be lost with it: since NEXT_SESSION they start the chat's next session.
  const chat = input.channel === 'telegram_bot' || input.channel === 'telegram_user';
  if (chat && !stopReason && state.inbox.length > 0 && patched(NEXT_SESSION)) {
    const next = state.inbox.filter((m) => !state.seen.includes(m.id));
    if (next.length > 0) return await continueAsNew<typeof dialogue>({ chainId: input.chainId, versionId: session.rootVersionId, channel: input.channel, ...(input.botId ? { botId: input.botId } : {}), owners: input.owners, ...(input.limits ? { limits: input.limits } : {}), next });
  }
  return { outcome: session.outcome, endedAt: new Date(Date.now()).toISOString() };
}

/**
 * Moves the session to another version of its chain (the `upgrade` signal, applied at a
 * wait point). The root frame's node — and the wait's node when the session waits in the
 * root chain — are mapped; sub-chain frames keep their own pinned versions.
 */
async function applyUpgrade(session: Session, request: UpgradeRequest, loadIr: (versionId: string) => Promise<void>): Promise<void> {
  const state = session.state;
  const root = state.frames[0];
  if (!root || request.versionId === root.versionId) return;
  const reject = (reason: string): void => {
    session.emit('session.upgrade_rejected', { versionId: request.versionId, reason });
  };
  try {
    await loadIr(request.versionId);
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    return reject(`version ${request.versionId} could not be loaded`);
  }
  const oldIr = session.ir(root.versionId);
  const newIr = session.ir(request.versionId);
  const check = (id: string | null): string | null | undefined => {
    if (id === null) return null;
    const mapped = mapNode(oldIr, newIr, request.nodeMap, id);
    return mapped.ok ? mapped.target : undefined;
  };
  const rootNode = check(root.nodeId);
  if (rootNode === undefined) return reject(`node "${root.nodeId}" has no counterpart of the same type in the new version; map it`);
  const waitInRoot = state.frames.length === 1 && state.wait !== null && state.wait.kind !== 'entry';
  const wait = state.wait;
  let waitNode: string | null | undefined = null;
  if (waitInRoot && wait && wait.kind !== 'entry') {
    waitNode = check(wait.nodeId);
    if (waitNode === undefined) return reject(`waiting node "${wait.nodeId}" has no counterpart of the same type in the new version; map it`);
  }
  const from = root.versionId;
  root.versionId = request.versionId;
  root.nodeId = rootNode;
  if (waitInRoot && wait && wait.kind !== 'entry' && waitNode) wait.nodeId = waitNode;
  const versionNumber = session.versionNumbers.get(request.versionId) ?? null;
  state.versionNumber = versionNumber;
  if (versionNumber !== null) upsertSearchAttributes([{ key: ChainVersionKey, value: versionNumber }]);
  session.emit('session.upgraded', { from, to: request.versionId, versionNumber, node: rootNode });
}

/** The variable with the biggest JSON, to name in a state_too_large failure. */
function largestVariable(session: Session): string {
  let best = { name: 'the session state', size: -1 };
  const scopes = { session: session.frame.session, user: session.state.user, chat: session.state.chat, bot: session.state.bot, run: session.frame.run };
  for (const [scope, values] of Object.entries(scopes)) {
    for (const [key, value] of Object.entries(values)) {
      const size = JSON.stringify(value)?.length ?? 0;
      if (size > best.size) best = { name: `${scope}.${key}`, size };
    }
  }
  return best.name;
}

/** Declared defaults for variables the session does not have yet. */
function applyDefaults(session: Session): void {
  for (const declared of session.ir(session.rootVersionId).variables) {
    if (declared.default === undefined) continue;
    if (session.get(declared.name) !== undefined) continue;
    const [scope] = declared.name.split('.');
    if (scope === 'session' || scope === 'run') {
      const next = setVariable(session.scope(), declared.name, declared.default);
      session.frame.session = next.session;
      session.frame.run = next.run;
    } else if (scope === 'user' || scope === 'chat' || scope === 'bot') {
      session.state[scope] = setVariable(session.scope(), declared.name, declared.default)[scope];
    }
  }
}

/** The start node a first message enters by: its group event's start; else its command, a matching text pattern, else 'any'. */
function pickEntry(session: Session): string | undefined {
  const event = session.state.message.event;
  if (typeof event === 'string') return findEventEntry(session.ir(session.rootVersionId), event);
  const text = session.state.message.text;
  return findEntry(session.ir(session.rootVersionId), typeof text === 'string' ? text : '');
}

function view(session: Session): SessionView {
  const state = session.state;
  const root = state.frames[0];
  return {
    chainId: session.input.chainId,
    versionId: session.rootVersionId,
    versionNumber: state.versionNumber,
    channel: session.input.channel,
    currentNode: session.ended ? null : session.currentNode(),
    wait: state.wait,
    callStack: state.frames.map((f) => ({ versionId: f.versionId, nodeId: f.nodeId, ...(f.callerNodeId ? { callerNodeId: f.callerNodeId } : {}) })),
    variables: {
      session: session.frame.session,
      user: state.user,
      chat: state.chat,
      bot: state.bot,
      run: root?.run ?? ({} as JsonObject),
      message: state.message,
    },
    inbox: state.inbox.length,
    transcript: session.tail,
    ended: session.ended,
  };
}
