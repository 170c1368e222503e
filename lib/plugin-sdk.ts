// The plugin SDK: what a plugin in plugins/<id>/ (or PLUGINS_DIR/<id>/) imports as
// 'chainflow/plugin-sdk'. A plugin's entry (index.ts or index.js) default-exports
// definePlugin({...}). The host (lib/plugins/host.ts) loads it in its own worker thread.
// See docs/plugins.md.

import { z } from 'zod';

export { z };

/** A text in both UI languages. */
export interface Localized {
  en: string;
  ru: string;
}

/** Any JSON value (what variables hold). */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** What a plugin may do beyond computing: checked by the host on every call, approved by an admin. */
export interface PluginPermissions {
  /** Host names `ctx.fetch` may reach (`api.open-meteo.com`, `*.example.com`); nothing else. */
  network?: string[];
  /** Credential names the plugin may read through `ctx.credential(name)`. */
  credentials?: string[];
}

/** The context of one call: the network, the plugin's settings and key-value store. */
export interface PluginContext {
  /** `fetch` through the SSRF guard, limited to the hosts in `permissions.network`. */
  fetch(url: string, init?: { method?: string; headers?: Record<string, string>; body?: string }): Promise<{ status: number; headers: Record<string, string>; text(): Promise<string>; json(): Promise<unknown> }>;
  /** The plugin's settings (admin-editable; defaults from `settings`). */
  settings: Record<string, Json>;
  /** A small key-value store per plugin (values are JSON). */
  kv: {
    get(key: string): Promise<Json | undefined>;
    /** At most 64 KB of JSON per value and 10 000 keys per plugin; with `ttlSeconds` the key expires. */
    set(key: string, value: Json, options?: { ttlSeconds?: number }): Promise<void>;
    delete(key: string): Promise<void>;
  };
  /** Secret of a credential listed in `permissions.credentials`; rejects for any other name. */
  credential(name: string): Promise<string>;
  /** Writes a line to the host's log (never put secrets here). */
  log(message: string): void;
}

/** The context of a node run: the session's variables (no secrets) besides the above. */
export interface NodeContext extends PluginContext {
  /** Variables snapshot: message, session, user, chat, bot, run… */
  vars: Record<string, Json>;
  runId: string;
  nodeId: string;
}

/** A node run's outcome: leaves through `ok` or `error`, setting variables either way. */
export type NodeResult =
  | { ok: true; set?: Record<string, Json> }
  | { ok: false; error: { code?: string; message: string }; set?: Record<string, Json> };

export interface PluginNodeType<S extends z.ZodType = z.ZodType> {
  label: Localized;
  help: Localized;
  icon?: string;
  /** The node's config; field labels and help via `.meta({ label: {en, ru}, help: {en, ru} })`. Validated at publish. */
  config: S;
  run(ctx: NodeContext, config: z.output<S>): Promise<NodeResult> | NodeResult;
}

/** A Telegram message as hooks see it. */
export interface HookMessage {
  botId: string;
  chatId: string;
  chatType?: string;
  userId?: string;
  text?: string;
  /** The sender's Telegram language (`language_code`, e.g. `ru`), when known. */
  language?: string;
  /** Telegram's update when there is one (new_chat_members etc.). */
  update?: Record<string, Json>;
}

/** A member in a {@link MemberJoinedEvent} (Telegram's names, as `message.member` in chains). */
export interface HookMember {
  id: string;
  first_name?: string;
  last_name?: string;
  username?: string;
  language_code?: string;
  is_bot?: boolean;
}

/** People who joined a group (Telegram's `new_chat_members` service message). */
export interface MemberJoinedEvent {
  botId: string;
  chatId: string;
  chatType?: string;
  chatTitle?: string;
  /** Who added them (the member themself when they joined by link). */
  by?: HookMember;
  members: HookMember[];
}

/** Before a message reaches the session: go on (optionally changed/annotated) or drop it. */
export type BeforeMessageResult =
  | { action: 'continue'; text?: string; annotations?: Record<string, Json>; reply?: string }
  | { action: 'drop'; reason: string; reply?: string };

export interface PluginHooks {
  /** Runs in the gateway before the session gets the message (200 ms budget; over it the message goes on unchanged). */
  beforeMessage?(ctx: PluginContext, message: HookMessage): Promise<BeforeMessageResult> | BeforeMessageResult;
  /** Runs after the session's replies were flushed (200 ms budget). */
  afterMessage?(ctx: PluginContext, message: HookMessage & { replies: string[] }): Promise<void> | void;
  /** Runs in the gateway when members join a group (200 ms budget); `reply` is sent to the group. */
  memberJoined?(ctx: PluginContext, event: MemberJoinedEvent): Promise<{ reply?: string } | void> | { reply?: string } | void;
}

export interface PluginCommand {
  description: Localized;
  /** Answers `/name args` in a chat: the text to reply. */
  run(ctx: PluginContext, input: { args: string; message: HookMessage }): Promise<string> | string;
}

export interface PluginDefinition {
  /** Lowercase id (`[a-z0-9][a-z0-9_-]*`), equal to the folder name. */
  id: string;
  version: string;
  title: Localized;
  description: Localized;
  author?: string;
  /** Required Chainflow version range, e.g. `>=0.1.0`. */
  chainflow?: string;
  permissions?: PluginPermissions;
  /** Settings with their defaults (edited in /api/v1/plugins/{id}/settings); mark secret fields with `.meta({ secret: true })` (stored encrypted, never shown again). */
  settings?: z.ZodObject;
  /** Node types: `plugin:<id>/<key>`. */
  nodes?: Record<string, PluginNodeType>;
  /** Telegram commands, without the slash. */
  commands?: Record<string, PluginCommand>;
  hooks?: PluginHooks;
  /** A built web bundle (folder relative to the plugin, with index.html) shown as an editor tab in a sandboxed iframe. */
  webTab?: { title: Localized; dir: string };
}

/**
 * Declares a plugin (its entry's default export).
 *
 * @example
 * export default definePlugin({ id: 'hello', version: '1.0.0', title: {en: 'Hello', ru: 'Привет'}, description: …,
 *   nodes: { greet: node({ label, help, config: z.object({ name: z.string() }), run: (ctx, c) => ({ ok: true, set: { 'session.greeting': `Hi ${c.name}` } }) }) } });
 */
export function definePlugin<const P extends PluginDefinition>(plugin: P): P {
  return plugin;
}

/** Declares a node type with its config typed from the schema. */
export function node<S extends z.ZodType>(spec: PluginNodeType<S>): PluginNodeType {
  return spec as unknown as PluginNodeType;
}
