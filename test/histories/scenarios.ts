// The recorded scenarios and what each history must show to cover what it is for. The
// recorder (record.ts) plays them; test/engine/replay.test.ts checks every history file
// against this list and replays it. A history is `<scenario>.<label>.json`.
import { Buffer } from 'node:buffer';

/** What a scenario's history must contain. */
export interface Coverage {
  /** What it covers, for docs/replay.md and failure messages. */
  covers: string;
  /** Remote activities it schedules (ActivityTaskScheduled). */
  activities?: string[];
  /**
   * The session loads its owners' persisted variables: the loadVariables activity, or
   * (since the 'local-session-start' patch) the startSession local activity.
   */
  loadsVariables?: boolean;
  /** Node types in the chain versions it loads (the loadChainVersion and startSession results). */
  nodeTypes?: string[];
  /** Distinct chain versions it loads (a sub-chain or an upgrade: 2). */
  versions?: number;
  /** Timers that fire (TimerFired): a durable delay, an ask's timeout. */
  timersFired?: number;
  /** Signals it receives (WorkflowExecutionSignaled). */
  signals?: string[];
  /** patched() ids recorded as markers. */
  patches?: string[];
  /** The run ends by continuing as new (WorkflowExecutionContinuedAsNew). */
  continuedAsNew?: boolean;
  /** The run starts from a continue-as-new (its input carries the session state). */
  resumed?: boolean;
  /** Replies answered through the `send` Update, each matched as `<nodeId>: <text>`. */
  replies?: RegExp[];
  /** The session's outcome (WorkflowExecutionCompleted). */
  outcome?: string;
}

export const scenarios = {
  'greeting-new-user': { covers: 'the greeting: start, condition, an ask with retries and a timeout, user variables saved', loadsVariables: true, replies: [/^ask_name: Hi!/, /^reply_new: Nice to meet you, Ann!/], outcome: 'greeted' },
  'greeting-welcome-back': { covers: 'the greeting for a known user: persisted variables loaded', loadsVariables: true, replies: [/^welcome_back: Welcome back, Ann!/] },
  'greeting-gives-up': { covers: "the greeting's ask running out of retries ('invalid' port)", replies: [/^ask_name: Please send just your name/, /^no_name: No problem/], outcome: 'greeted' },
  http: { covers: 'an http node: one httpRequest activity, the response mapped to a variable', activities: ['httpRequest'], nodeTypes: ['http'], replies: [/^ok: Order 42 is paid$/], outcome: 'http_ok' },
  llm: { covers: 'an llm node: one llmComplete activity against an OpenAI-compatible server', activities: ['llmComplete'], nodeTypes: ['llm'], replies: [/^ok: AI: Hello, Ann!$/], outcome: 'llm_ok' },
  agent: {
    covers: 'an agent node: a model call asking for two HTTP tools at once (heartbeating activities), their results, then the answer',
    activities: ['agentModel', 'agentHttpTool'],
    nodeTypes: ['agent'],
    replies: [/^ok: AI: Both are in stock\.$/],
    outcome: 'agent_ok',
  },
  code: { covers: 'a code node: one runCode activity in the sandbox', activities: ['runCode'], nodeTypes: ['code'], replies: [/^ok: Result 8$/], outcome: 'code_ok' },
  split: { covers: "a split node: the session goes down one variant's port", nodeTypes: ['split'], replies: [/^variant_(a: A|b: B)$/], outcome: 'split' },
  'subchain-ask': {
    covers: 'a sub-chain whose ask waits inside it, then outputs copied back to the caller',
    nodeTypes: ['subchain', 'ask'],
    versions: 2,
    replies: [/^q: Hi Kim, your email\?$/, /^after: Saved kim@example\.com \(captured\)$/],
    outcome: 'subchain_done',
  },
  delay: { covers: 'a durable delay: a timer that fires, then the session goes on', nodeTypes: ['delay'], timersFired: 1, replies: [/^before: See you in two seconds$/], outcome: 'delayed' },
  'ask-timeout': { covers: "an ask's timeout: its timer fires and the session leaves through 'timeout'", nodeTypes: ['ask'], timersFired: 1, replies: [/^q: Still there\?$/], outcome: 'timed_out' },
  'continue-as-new': { covers: 'continue-as-new after messagesPerRun messages, between two messages', continuedAsNew: true, replies: [/^echo: You said one$/] },
  continued: { covers: 'the run after continue-as-new: resumes the session state at the ask', resumed: true, outcome: 'said_bye' },
  upgrade: { covers: 'the upgrade signal: the waiting session moves to version 2 through the node map', signals: ['upgrade'], versions: 2, replies: [/^q1: Name\?$/, /^m2: v2: hello Ann$/] },
  'start-burst': {
    covers: "a session started by a message with three more right behind it, landing in its first task (patched 'local-session-start')",
    signals: ['message'],
    patches: ['local-session-start'],
    outcome: 'start_burst',
  },
  burst: { covers: "messages queued during an activity answered in one burst (patched 'batch-bursts')", activities: ['httpRequest'], signals: ['message'], patches: ['batch-bursts'], replies: [/^a1: First\?$/], outcome: 'burst' },
} satisfies Record<string, Coverage>;

export type ScenarioName = keyof typeof scenarios;

/** What a recorded history shows, read from the Temporal CLI's JSON form. */
export interface HistorySummary {
  workflowId: string | undefined;
  activities: string[];
  localActivities: string[];
  nodeTypes: string[];
  versions: string[];
  timersFired: number;
  signals: string[];
  patches: string[];
  continuedAsNew: boolean;
  resumed: boolean;
  replies: string[];
  outcome: string | undefined;
}

interface JsonPayload {
  metadata?: { encoding?: string };
  data?: string;
}
interface JsonEvent {
  eventType: string;
  [attributes: string]: unknown;
}

function decode(payload: JsonPayload | undefined): unknown {
  if (!payload?.data) return undefined;
  const encoding = Buffer.from(payload.metadata?.encoding ?? '', 'base64').toString('utf8');
  if (encoding !== 'json/plain') return undefined;
  return JSON.parse(Buffer.from(payload.data, 'base64').toString('utf8')) as unknown;
}

function first(attributes: unknown, ...path: string[]): JsonPayload | undefined {
  let at: unknown = attributes;
  for (const key of path) at = (at as Record<string, unknown> | undefined)?.[key];
  return (at as { payloads?: JsonPayload[] } | undefined)?.payloads?.[0];
}

/** Reads the events of a history (as `temporal workflow show --output json` writes it). */
export function summarize(history: { events: JsonEvent[] }): HistorySummary {
  const summary: HistorySummary = { workflowId: undefined, activities: [], localActivities: [], nodeTypes: [], versions: [], timersFired: 0, signals: [], patches: [], continuedAsNew: false, resumed: false, replies: [], outcome: undefined };
  const nodeTypes = new Set<string>();
  for (const event of history.events) {
    const type = event.eventType.replace(/^EVENT_TYPE_/, '');
    const name = type.toLowerCase().replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
    const attributes = event[`${name}EventAttributes`] as Record<string, unknown> | undefined;
    switch (type) {
      case 'WORKFLOW_EXECUTION_STARTED': {
        summary.workflowId = attributes?.workflowId as string | undefined;
        const input = decode(first(attributes, 'input')) as { resume?: unknown } | undefined;
        summary.resumed = input?.resume !== undefined;
        break;
      }
      case 'ACTIVITY_TASK_SCHEDULED':
        summary.activities.push((attributes?.activityType as { name: string }).name);
        break;
      case 'MARKER_RECORDED': {
        const marker = attributes?.markerName;
        const details = attributes?.details;
        if (marker === 'core_patch') summary.patches.push((decode(first(details, 'patch-data')) as { id: string }).id);
        if (marker === 'core_local_activity') {
          const data = decode(first(details, 'data')) as { activity_type: string };
          summary.localActivities.push(data.activity_type);
          if (data.activity_type === 'loadChainVersion' || data.activity_type === 'startSession') {
            type Loaded = { versionId: string; ir: { nodes: Record<string, { type: string }> } };
            const result = decode(first(details, 'result')) as (Loaded & { version?: Loaded }) | undefined;
            const loaded = data.activity_type === 'startSession' ? result?.version : result;
            if (loaded) {
              summary.versions.push(loaded.versionId);
              for (const node of Object.values(loaded.ir.nodes)) nodeTypes.add(node.type);
            }
          }
        }
        break;
      }
      case 'TIMER_FIRED':
        summary.timersFired++;
        break;
      case 'WORKFLOW_EXECUTION_SIGNALED':
        summary.signals.push(attributes?.signalName as string);
        break;
      case 'WORKFLOW_EXECUTION_CONTINUED_AS_NEW':
        summary.continuedAsNew = true;
        break;
      case 'WORKFLOW_EXECUTION_UPDATE_COMPLETED': {
        const result = decode(first(attributes, 'outcome', 'success')) as { replies?: Array<{ nodeId: string; text: string }> } | undefined;
        for (const reply of result?.replies ?? []) summary.replies.push(`${reply.nodeId}: ${reply.text}`);
        break;
      }
      case 'WORKFLOW_EXECUTION_COMPLETED':
        summary.outcome = (decode(first(attributes, 'result')) as { outcome?: string } | undefined)?.outcome;
        break;
    }
  }
  summary.nodeTypes = [...nodeTypes].sort();
  summary.versions = [...new Set(summary.versions)];
  return summary;
}
