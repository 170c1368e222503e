// Plugin hosts and the registry of loaded plugins. Plugins never run in the API's or the
// worker's main thread: each loaded plugin version gets its own worker thread with
// resourceLimits, and every call a time limit. A thread that overruns a call, runs out of
// memory or crashes is terminated and reported; the next call starts a fresh one. ESM
// modules cannot be unloaded, so a reload starts a thread for the new version, routes new
// calls to it, lets the old one finish its in-flight calls and then terminates it.

import { createHash } from 'node:crypto';
import { existsSync, readdirSync, statSync, watch, type FSWatcher } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Json } from '../plugin-sdk.ts';
import type { CallRequest, CallResult, FromThread, PluginManifest, ThreadData, ToThread } from './protocol.ts';

const THREAD_URL = new URL('./thread.ts', import.meta.url);
const SDK_URL = new URL('../plugin-sdk.ts', import.meta.url).href;
const ENTRIES = ['index.ts', 'index.js', 'index.mjs'];

/** The repository's own plugins/ folder. */
export const BUILTIN_PLUGINS_DIR = fileURLToPath(new URL('../../plugins/', import.meta.url));

export class PluginCallError extends Error {
  readonly code: 'plugin_timeout' | 'plugin_crashed' | 'plugin_failed' | 'plugin_not_installed' | 'plugin_disabled';
  constructor(code: PluginCallError['code'], message: string) {
    super(message);
    this.code = code;
    this.name = 'PluginCallError';
  }
}

export interface HostLimits {
  /** V8 old-generation limit of the thread (MB). */
  maxOldGenerationSizeMb: number;
  /** Time limit of one call (node runs, commands). */
  callTimeoutMs: number;
  /** Time limit of before/after message hooks. */
  hookTimeoutMs: number;
  /** Time to load the plugin's entry. */
  loadTimeoutMs: number;
}

export const DEFAULT_LIMITS: HostLimits = { maxOldGenerationSizeMb: 64, callTimeoutMs: 10_000, hookTimeoutMs: 200, loadTimeoutMs: 15_000 };

/** Answers the thread's kv and credential requests (a database in production). */
export interface PluginServices {
  kvGet(pluginId: string, key: string): Promise<Json | undefined>;
  kvSet(pluginId: string, key: string, value: Json, ttlSeconds?: number): Promise<void>;
  kvDelete(pluginId: string, key: string): Promise<void>;
  credential(pluginId: string, name: string): Promise<string>;
  settings(pluginId: string): Record<string, Json>;
}

/** One worker thread running one version of one plugin. */
export class PluginHost {
  private worker: Worker | undefined;
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (v: CallResult) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private drained: (() => void) | undefined;
  dead: string | undefined;

  readonly folder: string;
  readonly manifest: PluginManifest;
  private readonly limits: HostLimits;
  private readonly services: PluginServices | undefined;
  private readonly onDeath: (host: PluginHost, message: string) => void;
  private readonly onLog: (message: string) => void;

  private constructor(folder: string, manifest: PluginManifest, worker: Worker, limits: HostLimits, services: PluginServices | undefined, onDeath: (host: PluginHost, message: string) => void, onLog: (message: string) => void) {
    this.folder = folder;
    this.manifest = manifest;
    this.limits = limits;
    this.services = services;
    this.onDeath = onDeath;
    this.onLog = onLog;
    this.worker = worker;
    worker.on('message', (message: FromThread) => this.receive(message));
    worker.on('error', (error) => this.die(`Plugin "${manifest.id}" crashed: ${error.message}`));
    worker.on('exit', (code) => this.die(`Plugin "${manifest.id}" thread exited (code ${code}).`));
  }

  /** Starts a thread for the plugin in `folder`; rejects with the load error. */
  static async start(folder: string, options: { limits: HostLimits; ssrfAllow: string[]; services?: PluginServices; onDeath: (host: PluginHost, message: string) => void; onLog: (message: string) => void }): Promise<PluginHost> {
    const entry = ENTRIES.map((name) => join(folder, name)).find((path) => existsSync(path));
    if (!entry) throw new Error(`no entry file (${ENTRIES.join(', ')})`);
    const id = folder.split(/[\\/]/).pop() ?? '';
    const data: ThreadData = { entry: pathToFileURL(entry).href, sdkUrl: SDK_URL, folder, ssrfAllow: options.ssrfAllow, settings: options.services?.settings(id) ?? {} };
    const worker = new Worker(THREAD_URL, {
      workerData: data,
      resourceLimits: { maxOldGenerationSizeMb: options.limits.maxOldGenerationSizeMb, maxYoungGenerationSizeMb: 16, stackSizeMb: 4 },
      stdout: false,
      stderr: false,
      env: {},
    });
    const manifest = await new Promise<PluginManifest>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`loading took over ${options.limits.loadTimeoutMs} ms`)), options.limits.loadTimeoutMs);
      const done = () => clearTimeout(timer);
      worker.once('message', (message: FromThread) => {
        done();
        if (message.type === 'ready') resolve(message.manifest);
        else reject(new Error(message.type === 'failed' ? message.message : 'unexpected first message'));
      });
      worker.once('error', (error) => (done(), reject(error)));
      worker.once('exit', (code) => (done(), reject(new Error(`the thread exited while loading (code ${code})`))));
    }).catch(async (error: unknown) => {
      await worker.terminate();
      throw error;
    });
    return new PluginHost(folder, manifest, worker, options.limits, options.services, options.onDeath, options.onLog);
  }

  get inFlight(): number {
    return this.pending.size;
  }

  call(request: CallRequest, settings: Record<string, Json>, timeoutMs?: number): Promise<CallResult> {
    const worker = this.worker;
    if (!worker || this.dead) return Promise.reject(new PluginCallError('plugin_crashed', this.dead ?? `Plugin "${this.manifest.id}" is stopped.`));
    const limit = timeoutMs ?? this.limits.callTimeoutMs;
    const id = ++this.seq;
    return new Promise<CallResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        // A thread that does not answer in time may be in an endless loop: only terminating it stops it.
        this.die(`Plugin "${this.manifest.id}" did not answer within ${limit} ms and was stopped.`, 'plugin_timeout');
      }, limit);
      this.pending.set(id, { resolve, reject, timer });
      worker.postMessage({ type: 'call', id, request, settings } satisfies ToThread);
    });
  }

  /** Resolves once no call is in flight (then terminate). */
  drain(): Promise<void> {
    if (this.pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => (this.drained = resolve));
  }

  async terminate(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    this.dead ??= `Plugin "${this.manifest.id}" ${this.manifest.version} was unloaded.`;
    this.failPending(new PluginCallError('plugin_not_installed', this.dead));
    if (worker) await worker.terminate();
  }

  private receive(message: FromThread): void {
    if (message.type === 'log') return this.onLog(message.message);
    if (message.type === 'service') return void this.serve(message);
    if (message.type !== 'result') return;
    const waiting = this.pending.get(message.id);
    if (!waiting) return;
    this.pending.delete(message.id);
    clearTimeout(waiting.timer);
    if (message.ok) waiting.resolve(message.value);
    else waiting.reject(new PluginCallError('plugin_failed', message.message));
    if (this.pending.size === 0) this.drained?.();
  }

  private async serve(message: Extract<FromThread, { type: 'service' }>): Promise<void> {
    const id = this.manifest.id;
    const services = this.services;
    try {
      if (!services) throw new Error('this process keeps no plugin store');
      let value: Json | undefined;
      if (message.op === 'kv.get') value = await services.kvGet(id, message.key);
      else if (message.op === 'kv.set') await services.kvSet(id, message.key, message.value ?? null, message.ttlSeconds);
      else if (message.op === 'kv.delete') await services.kvDelete(id, message.key);
      else value = await services.credential(id, message.key);
      this.worker?.postMessage({ type: 'service', id: message.id, ok: true, value } satisfies ToThread);
    } catch (error) {
      this.worker?.postMessage({ type: 'service', id: message.id, ok: false, message: error instanceof Error ? error.message : String(error) } satisfies ToThread);
    }
  }

  private die(message: string, code: 'plugin_timeout' | 'plugin_crashed' = 'plugin_crashed'): void {
    if (this.dead) return;
    this.dead = message;
    const worker = this.worker;
    this.worker = undefined;
    this.failPending(new PluginCallError(code, message));
    void worker?.terminate();
    this.onDeath(this, message);
  }

  private failPending(error: Error): void {
    for (const waiting of this.pending.values()) {
      clearTimeout(waiting.timer);
      waiting.reject(error);
    }
    this.pending.clear();
    this.drained?.();
  }
}

/** Hash of a plugin folder's files (path, size, mtime), node_modules left out. */
export function fingerprint(folder: string): string {
  const hash = createHash('sha256');
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) {
        const stat = statSync(path);
        hash.update(`${path}\0${stat.size}\0${stat.mtimeMs}\n`);
      }
    }
  };
  walk(folder);
  return hash.digest('hex');
}

/** A plugin's Telegram command: `command` lowercase (as Telegram menus take it), `name` as the plugin declares it. */
export interface PluginCommandEntry {
  command: string;
  name: string;
  pluginId: string;
  description: PluginManifest['commands'][number]['description'];
}

export interface PluginStatus {
  id: string;
  folder: string;
  status: 'loaded' | 'failed' | 'crashed';
  version?: string;
  manifest?: PluginManifest;
  /** Most recent first, at most 10. */
  lastErrors: { at: string; message: string }[];
  reloads: number;
  /** Calls running in the current thread. */
  inFlight: number;
}

interface Entry {
  id: string;
  folder: string;
  fingerprint: string;
  host: PluginHost | undefined;
  manifest: PluginManifest | undefined;
  status: PluginStatus['status'];
  lastErrors: PluginStatus['lastErrors'];
  reloads: number;
  /** A restart after a crash or a timeout, shared by concurrent callers. */
  restarting?: Promise<PluginHost | undefined>;
}

export interface RegistryOptions {
  /** Folders whose sub-folders are plugins (later ones win on equal ids). */
  dirs: string[];
  limits?: Partial<HostLimits>;
  ssrfAllow?: string[];
  services?: PluginServices;
  /** Disabled plugins are loaded (their manifest shown) but not callable. */
  enabled?: (id: string) => boolean;
  /** Why a plugin is not enabled (the `plugin_disabled` message). */
  disabledMessage?: (id: string) => string;
  /** Called with every failure recorded in a plugin's last errors (load error, crash, timeout). */
  onError?: (id: string, message: string) => void;
  /** How often folders are rescanned besides file-change events (ms). */
  pollMs?: number;
  log?: (message: string) => void;
  /**
   * Start a plugin's thread at its first call instead of keeping one per plugin from the
   * start (the worker: each idle thread is a V8 isolate of ~20–30 MB). The manifest is
   * still read at load, by a thread that then stops.
   */
  threadsOnDemand?: boolean;
}

/** The plugins of one process (API or worker), kept in step with the plugin folders. */
export class PluginRegistry {
  private readonly entries = new Map<string, Entry>();
  private readonly listeners = new Set<() => void>();
  private readonly watchers: FSWatcher[] = [];
  private readonly limits: HostLimits;
  private timer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;
  private rescan = false;
  private closed = false;
  private version = 0;

  private readonly options: RegistryOptions;

  constructor(options: RegistryOptions) {
    this.options = options;
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
  }

  /** Loads every plugin and starts watching. */
  async start(): Promise<void> {
    await this.scan();
    for (const dir of this.options.dirs) {
      if (!existsSync(dir)) continue;
      try {
        const watcher = watch(dir, { recursive: true }, () => this.schedule());
        watcher.on('error', () => undefined);
        this.watchers.push(watcher);
      } catch {
        // Polling below still picks changes up.
      }
    }
    this.timer = setInterval(() => this.schedule(), this.options.pollMs ?? 2000);
    this.timer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    for (const watcher of this.watchers) watcher.close();
    await this.scanning;
    await Promise.all([...this.entries.values()].map((entry) => entry.host?.terminate()));
    this.entries.clear();
  }

  /** Called after every change of the loaded set (reload, add, remove, crash). */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Grows on every change; callers cache against it. */
  get changeCount(): number {
    return this.version;
  }

  /** Rescans now (what the watcher does); resolves when the folders are in step. */
  refresh(): Promise<void> {
    return this.scan();
  }

  list(): PluginStatus[] {
    return [...this.entries.values()].map((entry) => {
      const status: PluginStatus = { id: entry.id, folder: entry.folder, status: entry.status, lastErrors: [...entry.lastErrors], reloads: entry.reloads, inFlight: entry.host?.inFlight ?? 0 };
      if (entry.manifest) {
        status.manifest = entry.manifest;
        status.version = entry.manifest.version;
      }
      return status;
    });
  }

  get(id: string): PluginStatus | undefined {
    return this.list().find((status) => status.id === id);
  }

  /** Node types of the loaded, enabled plugins. */
  nodeTypes(): PluginManifest['nodes'] {
    return [...this.entries.values()].filter((entry) => entry.manifest && this.isEnabled(entry.id)).flatMap((entry) => entry.manifest?.nodes ?? []);
  }

  installedTypes(): string[] {
    return this.nodeTypes().map((node) => node.type);
  }

  /** Tells listeners (the node-types cache, compile) that which plugins are enabled may have changed. */
  policyChanged(): void {
    this.changed();
  }

  /** Forces a fresh thread for a plugin (the API's reload). */
  async reload(id: string): Promise<PluginStatus | undefined> {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    await this.load(entry, fingerprint(entry.folder));
    this.changed();
    return this.get(id);
  }

  /** Calls a loaded, enabled plugin; starts a fresh thread when the last one was killed. */
  async call(id: string, request: CallRequest, timeoutMs?: number): Promise<CallResult> {
    const entry = this.entries.get(id);
    if (!entry || !entry.manifest) throw new PluginCallError('plugin_not_installed', `Plugin "${id}" is not installed (no folder plugins/${id}/ with a loadable entry).`);
    // Checking settings runs only the plugin's schema: allowed while it is disabled (an admin sets them up before enabling).
    if (request.kind !== 'settings' && !this.isEnabled(id)) throw new PluginCallError('plugin_disabled', this.options.disabledMessage?.(id) ?? `Plugin "${id}" is disabled; an admin enables it in Plugins.`);
    let host = entry.host;
    if (!host || host.dead) host = await this.restart(entry);
    if (!host) throw new PluginCallError('plugin_crashed', entry.lastErrors[0]?.message ?? `Plugin "${id}" could not be started.`);
    const settings = { ...entry.manifest.settingsDefaults, ...(this.options.services?.settings(id) ?? {}) };
    return host.call(request, settings, timeoutMs);
  }

  /** Hooks (before/after message, member joined) of every enabled plugin that has them, in id order. */
  withHook(kind: 'beforeMessage' | 'afterMessage' | 'memberJoined'): string[] {
    return [...this.entries.values()]
      .filter((entry) => entry.manifest?.hooks[kind] && this.isEnabled(entry.id))
      .map((entry) => entry.id)
      .sort();
  }

  /**
   * Telegram commands of the enabled plugins, by command name. Two plugins declaring one
   * name: the first by plugin id has it.
   */
  commands(): PluginCommandEntry[] {
    const byName = new Map<string, PluginCommandEntry>();
    for (const entry of [...this.entries.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
      if (!entry.manifest || !this.isEnabled(entry.id)) continue;
      for (const c of entry.manifest.commands) {
        const command = c.name.toLowerCase();
        if (/^[a-z0-9_]{1,32}$/.test(command) && !byName.has(command)) byName.set(command, { command, name: c.name, pluginId: entry.id, description: c.description });
      }
    }
    return [...byName.values()].sort((a, b) => (a.command < b.command ? -1 : a.command > b.command ? 1 : 0));
  }

  /** Records a failed call (a hook that threw or ran over its budget) in the plugin's last errors. */
  reportError(id: string, message: string): void {
    const entry = this.entries.get(id);
    if (entry) this.report(entry, message);
  }

  get hookTimeoutMs(): number {
    return this.limits.hookTimeoutMs;
  }

  /** Whether a plugin may be called (the DB state once plugins have one; every plugin found until then). */
  isEnabled(id: string): boolean {
    return this.options.enabled ? this.options.enabled(id) : true;
  }

  private restart(entry: Entry): Promise<PluginHost | undefined> {
    entry.restarting ??= this.load(entry, entry.fingerprint, true).finally(() => {
      entry.restarting = undefined;
    });
    return entry.restarting;
  }

  private schedule(): void {
    if (this.closed) return;
    if (this.scanning) {
      this.rescan = true;
      return;
    }
    void this.scan();
  }

  private scan(): Promise<void> {
    if (this.scanning) return this.scanning.then(() => this.scan());
    this.scanning = this.scanOnce()
      .catch((error: unknown) => this.options.log?.(`plugin scan failed: ${error instanceof Error ? error.message : String(error)}`))
      .finally(() => {
        this.scanning = undefined;
        if (this.rescan && !this.closed) {
          this.rescan = false;
          void this.scan();
        }
      });
    return this.scanning;
  }

  private async scanOnce(): Promise<void> {
    const found = new Map<string, string>();
    for (const dir of this.options.dirs) {
      if (!existsSync(dir)) continue;
      for (const item of readdirSync(dir, { withFileTypes: true })) {
        if (!item.isDirectory() || item.name.startsWith('.') || item.name === 'node_modules') continue;
        const folder = resolve(dir, item.name);
        if (ENTRIES.some((name) => existsSync(join(folder, name)))) found.set(item.name, folder);
      }
    }
    let changed = false;
    for (const [id, entry] of this.entries) {
      if (found.get(id) === entry.folder) continue;
      this.entries.delete(id);
      void this.retire(entry.host);
      changed = true;
    }
    for (const [id, folder] of found) {
      if (this.closed) return;
      let print: string;
      try {
        print = fingerprint(folder);
      } catch {
        continue; // removed while scanning
      }
      const entry = this.entries.get(id);
      if (entry && entry.fingerprint === print) continue;
      const next: Entry = entry ?? { id, folder, fingerprint: print, host: undefined, manifest: undefined, status: 'failed', lastErrors: [], reloads: -1 };
      this.entries.set(id, next);
      await this.load(next, print);
      changed = true;
    }
    if (changed) this.changed();
  }

  /** Starts a thread for the folder's current files; the old thread drains, then stops. */
  private async load(entry: Entry, print: string, forCall = false): Promise<PluginHost | undefined> {
    entry.fingerprint = print;
    const old = entry.host;
    try {
      const host = await PluginHost.start(entry.folder, {
        limits: this.limits,
        ssrfAllow: this.options.ssrfAllow ?? [],
        ...(this.options.services ? { services: this.options.services } : {}),
        onDeath: (dead, message) => this.died(entry, dead, message),
        onLog: (message) => this.options.log?.(`plugin ${entry.id}: ${message}`),
      });
      if (this.closed || !this.entries.has(entry.id)) {
        await host.terminate();
        return undefined;
      }
      entry.host = host;
      entry.manifest = host.manifest;
      entry.status = 'loaded';
      entry.reloads += 1;
      if (old !== host) void this.retire(old);
      if (this.options.threadsOnDemand && !forCall) {
        // Manifest read: the thread stops until a call needs it (call() starts a fresh one).
        entry.host = undefined;
        void host.terminate();
      }
      return host;
    } catch (error) {
      const message = `Plugin "${entry.id}" failed to load: ${error instanceof Error ? error.message : String(error)}`;
      this.report(entry, message);
      // The previous version keeps serving until a loadable one replaces it.
      if (!old || old.dead) entry.status = 'failed';
      return old && !old.dead ? old : undefined;
    }
  }

  private async retire(host: PluginHost | undefined): Promise<void> {
    if (!host) return;
    await host.drain();
    await host.terminate();
  }

  private died(entry: Entry, host: PluginHost, message: string): void {
    this.report(entry, message);
    if (entry.host === host) {
      entry.status = 'crashed';
      this.changed();
    }
  }

  private report(entry: Entry, message: string): void {
    entry.lastErrors.unshift({ at: new Date().toISOString(), message: message.slice(0, 1000) });
    entry.lastErrors.length = Math.min(entry.lastErrors.length, 10);
    this.options.log?.(message);
    this.options.onError?.(entry.id, message);
  }

  private changed(): void {
    this.version += 1;
    for (const listener of this.listeners) listener();
  }
}
