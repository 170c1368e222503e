// Messages between a plugin host (main thread, lib/plugins/host.ts) and its worker
// thread (lib/plugins/thread.ts). Everything here is structured-clone data.

import type { BeforeMessageResult, HookMessage, Json, MemberJoinedEvent, Localized, PluginPermissions } from '../plugin-sdk.ts';

export interface NodeTypeManifest {
  /** `plugin:<id>/<key>`. */
  type: string;
  label: Localized;
  help: Localized;
  icon: string;
  configSchema: Record<string, unknown>;
  defaults: Record<string, Json>;
}

/** What a loaded plugin declares (everything but its code). */
export interface PluginManifest {
  id: string;
  version: string;
  title: Localized;
  description: Localized;
  author?: string;
  chainflow?: string;
  permissions: Required<PluginPermissions>;
  nodes: NodeTypeManifest[];
  commands: { name: string; description: Localized }[];
  hooks: { beforeMessage: boolean; afterMessage: boolean; memberJoined: boolean };
  settingsSchema?: Record<string, unknown>;
  settingsDefaults: Record<string, Json>;
  webTab?: { title: Localized; dir: string };
}

export interface ThreadData {
  entry: string;
  sdkUrl: string;
  folder: string;
  ssrfAllow: string[];
  settings: Record<string, Json>;
}

export interface CallContext {
  settings: Record<string, Json>;
}

export type CallRequest =
  | { kind: 'node'; key: string; config: Json; vars: Record<string, Json>; runId: string; nodeId: string }
  | { kind: 'validate'; key: string; config: Json }
  | { kind: 'beforeMessage'; message: HookMessage }
  | { kind: 'afterMessage'; message: HookMessage & { replies: string[] } }
  | { kind: 'memberJoined'; event: MemberJoinedEvent }
  | { kind: 'command'; name: string; args: string; message: HookMessage }
  /** Checks settings an admin entered against the plugin's `settings` schema; answers them parsed (defaults filled in). */
  | { kind: 'settings'; values: Json };

export interface NodeOutcome {
  ok: boolean;
  set: Record<string, Json>;
  error?: { code: string; message: string };
}

export type CallResult =
  | { kind: 'node'; outcome: NodeOutcome }
  | { kind: 'validate'; issues: { path: string; message: string }[] }
  | { kind: 'beforeMessage'; result: BeforeMessageResult }
  | { kind: 'afterMessage' }
  | { kind: 'memberJoined'; reply?: string }
  | { kind: 'command'; reply: string }
  | { kind: 'settings'; issues: { path: string; message: string }[]; value?: Record<string, Json> };

/** Thread → host. */
export type FromThread =
  | { type: 'ready'; manifest: PluginManifest }
  | { type: 'failed'; message: string }
  | { type: 'result'; id: number; ok: true; value: CallResult }
  | { type: 'result'; id: number; ok: false; message: string }
  | { type: 'service'; id: number; op: 'kv.get' | 'kv.set' | 'kv.delete' | 'credential'; key: string; value?: Json; ttlSeconds?: number }
  | { type: 'log'; message: string };

/** Host → thread. */
export type ToThread =
  | { type: 'call'; id: number; request: CallRequest; settings: Record<string, Json> }
  | { type: 'service'; id: number; ok: true; value: Json | undefined }
  | { type: 'service'; id: number; ok: false; message: string };
