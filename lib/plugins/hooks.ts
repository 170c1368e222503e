// Plugin hooks and commands around a Telegram message, as the gateway (api/telegram/) and
// the delivery activity (activities/telegram.ts) run them. Every hook has a budget
// (`hookTimeoutMs`, 200 ms): a hook that throws or does not answer within it is recorded
// as the plugin's error and the message goes on unchanged (fail-open), so a broken or slow
// plugin never holds a chat up. Hooks run one plugin after another in plugin-id order;
// each sees the text as the hooks before it left it.

import type { HookMessage, Json, MemberJoinedEvent } from '../plugin-sdk.ts';
import type { PluginCommandEntry, PluginRegistry } from './host.ts';
import type { CallRequest, CallResult } from './protocol.ts';

/** Largest annotation object one plugin may add (JSON characters). */
export const MAX_ANNOTATION_CHARS = 4096;
/** Longest reply text a hook or a command may send (Telegram splits longer ones anyway). */
export const MAX_PLUGIN_REPLY = 4096;

/** Where a plugin's annotations appear: `message.meta.<key>` (variable names take no '-'). */
export function metaKey(pluginId: string): string {
  return pluginId.replace(/-/g, '_');
}

export interface HookLog {
  warn(fields: Record<string, unknown>, message: string): void;
}

/** A reply a plugin asked to send to the chat. */
export interface PluginReply {
  pluginId: string;
  text: string;
}

export type BeforeOutcome =
  | { action: 'continue'; text: string | undefined; meta: Record<string, Json>; replies: PluginReply[] }
  | { action: 'drop'; pluginId: string; reason: string; replies: PluginReply[] };

const describe = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * One call under a budget: the result, or `undefined` when it threw or ran over (recorded
 * as the plugin's error). The call itself may go on in the plugin's thread; its late
 * answer is ignored (a thread that never answers is stopped at the host's time limit).
 */
export async function callWithBudget(registry: PluginRegistry, pluginId: string, request: CallRequest, what: string, log: HookLog): Promise<CallResult | undefined> {
  const budget = registry.hookTimeoutMs;
  let timer: NodeJS.Timeout | undefined;
  const call = registry.call(pluginId, request, budget);
  const over = new Promise<'over'>((resolve) => {
    timer = setTimeout(() => resolve('over'), budget);
  });
  try {
    const result = await Promise.race([call, over]);
    if (result !== 'over') return result;
    call.catch(() => undefined);
    const message = `Plugin "${pluginId}": its ${what} hook did not answer within ${budget} ms; the message went on unchanged.`;
    registry.reportError(pluginId, message);
    log.warn({ plugin: pluginId, hook: what, budgetMs: budget }, 'plugins: hook over its budget; fail-open');
    return undefined;
  } catch (error) {
    const message = `Plugin "${pluginId}": its ${what} hook failed (${describe(error)}); the message went on unchanged.`;
    registry.reportError(pluginId, message.slice(0, 1000));
    log.warn({ plugin: pluginId, hook: what, error: describe(error).slice(0, 300) }, 'plugins: hook failed; fail-open');
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

const replyOf = (pluginId: string, reply: unknown): PluginReply[] => (typeof reply === 'string' && reply.trim() ? [{ pluginId, text: reply.slice(0, MAX_PLUGIN_REPLY) }] : []);

/**
 * The before-message hooks of the enabled plugins, in id order: each may change the text,
 * add annotations (`meta[metaKey(id)]`), ask for a reply, or drop the message (the hooks
 * after it do not run).
 */
export async function runBeforeHooks(registry: PluginRegistry | undefined, message: HookMessage, log: HookLog): Promise<BeforeOutcome> {
  const meta: Record<string, Json> = {};
  const replies: PluginReply[] = [];
  let text = message.text;
  for (const pluginId of registry?.withHook('beforeMessage') ?? []) {
    if (!registry) break;
    const result = await callWithBudget(registry, pluginId, { kind: 'beforeMessage', message: { ...message, ...(text !== undefined ? { text } : {}) } }, 'beforeMessage', log);
    if (result?.kind !== 'beforeMessage') continue;
    const answer = result.result;
    replies.push(...replyOf(pluginId, answer.reply));
    if (answer.action === 'drop') return { action: 'drop', pluginId, reason: String(answer.reason ?? '').slice(0, 200) || 'dropped', replies };
    if (answer.action !== 'continue') {
      registry.reportError(pluginId, `Plugin "${pluginId}": beforeMessage answered action "${String((answer as { action: unknown }).action)}"; only "continue" and "drop" are taken.`);
      continue;
    }
    if (typeof answer.text === 'string' && text !== undefined) text = answer.text;
    if (answer.annotations && typeof answer.annotations === 'object') {
      const size = JSON.stringify(answer.annotations).length;
      if (size > MAX_ANNOTATION_CHARS) registry.reportError(pluginId, `Plugin "${pluginId}": its annotations are ${size} characters (at most ${MAX_ANNOTATION_CHARS}); they were left out.`);
      else meta[metaKey(pluginId)] = answer.annotations;
    }
  }
  return { action: 'continue', text, meta, replies };
}

/** The member-joined hooks: the greetings (replies) the plugins asked for. */
export async function runMemberJoined(registry: PluginRegistry | undefined, event: MemberJoinedEvent, log: HookLog): Promise<PluginReply[]> {
  const replies: PluginReply[] = [];
  for (const pluginId of registry?.withHook('memberJoined') ?? []) {
    if (!registry) break;
    const result = await callWithBudget(registry, pluginId, { kind: 'memberJoined', event }, 'memberJoined', log);
    if (result?.kind === 'memberJoined') replies.push(...replyOf(pluginId, result.reply));
  }
  return replies;
}

/** The after-message hooks, all at once (they change nothing), each under its budget. */
export async function runAfterHooks(registry: PluginRegistry | undefined, message: HookMessage & { replies: string[] }, log: HookLog): Promise<string[]> {
  const ids = registry?.withHook('afterMessage') ?? [];
  if (!registry || ids.length === 0) return [];
  await Promise.all(ids.map((pluginId) => callWithBudget(registry, pluginId, { kind: 'afterMessage', message }, 'afterMessage', log)));
  return ids;
}

/** The plugin whose command this is (enabled plugins only), or undefined. */
export function pluginCommand(registry: PluginRegistry | undefined, command: string): PluginCommandEntry | undefined {
  return registry?.commands().find((c) => c.command === command);
}

/** Runs a plugin's command (the plugin call time limit, not the hook budget): its reply text, or the error. */
export async function runPluginCommand(registry: PluginRegistry, { pluginId, name: command }: PluginCommandEntry, args: string, message: HookMessage): Promise<{ ok: true; reply: string } | { ok: false; error: string }> {
  try {
    const result = await registry.call(pluginId, { kind: 'command', name: command, args, message });
    return result.kind === 'command' ? { ok: true, reply: String(result.reply ?? '').slice(0, MAX_PLUGIN_REPLY) } : { ok: false, error: 'unexpected answer' };
  } catch (error) {
    const text = `Plugin "${pluginId}": command /${command} failed (${describe(error)}).`;
    registry.reportError(pluginId, text.slice(0, 1000));
    return { ok: false, error: describe(error) };
  }
}
