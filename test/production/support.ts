// Real `chainflow` processes for the production tests: one-shot CLI commands and
// long-running services (worker, api) spawned as `node bin/chainflow.js <command>`, each
// in its own process group so a `kill -9` reaches the launcher and the service alike.

import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { eventually } from '../support/poll.ts';

export const BIN = fileURLToPath(new URL('../../bin/chainflow.js', import.meta.url));

/** The environment a child gets: the basics of ours plus `vars` (nothing else leaks in). */
export function childEnv(vars: Record<string, string>): NodeJS.ProcessEnv {
  const keep = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ'];
  const base: NodeJS.ProcessEnv = {};
  for (const key of keep) if (process.env[key] !== undefined) base[key] = process.env[key];
  return { ...base, NODE_ENV: 'test', LOG_LEVEL: 'warn', ...vars };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `chainflow <args>` to completion (killed after `timeoutMs`). */
export async function runCli(args: string[], opts: { env: Record<string, string>; cwd: string; timeoutMs?: number }): Promise<CliResult> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd, env: childEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => killGroup(child, 'SIGKILL'), opts.timeoutMs ?? 120_000);
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (c) => resolve(c));
    });
    return { code, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}

/** Signals a child's whole process group (the launcher and the service it runs). */
export function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    /* already gone */
  }
}

/** True while `pid` runs (a zombie, dead but not yet reaped, counts as gone). */
export function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** A `chainflow worker` or `chainflow api` process. */
export interface Service {
  name: string;
  child: ChildProcess;
  /** pid of the service process itself (from its first log line), once known. */
  pid: number | undefined;
  /** The Temporal identity a worker polls with (`pid@host`, the SDK default). */
  identity(): string;
  /** Last lines of its output, for failure messages. */
  tail(lines?: number): string;
  /** Resolves when the service logged `message` (a pino `msg`); rejects if it exits first. */
  logged(message: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the whole group is gone. */
  stop(graceMs?: number): Promise<void>;
  /** True once every process of its group is gone. */
  gone(): boolean;
}

const running = new Set<Service>();
process.once('exit', () => {
  // Last resort when a test process dies with services up: nothing may outlive the run.
  for (const s of running) killGroup(s.child, 'SIGKILL');
});

/** Starts `chainflow worker` ({@link startService}), adds it to `services` (the test's cleanup list) and waits until it polls. */
export async function startWorkerService(name: string, env: Record<string, string>, cwd: string, services: Service[]): Promise<Service> {
  const worker = startService('worker', name, env, cwd);
  services.push(worker);
  await worker.logged('worker running');
  return worker;
}

/** Spawns `chainflow <command>` with `env`, its output kept in memory. */
export function startService(command: 'worker' | 'api', name: string, env: Record<string, string>, cwd: string): Service {
  const child = spawn(process.execPath, [BIN, command], { cwd, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const lines: string[] = [];
  const records: Record<string, unknown>[] = [];
  let partial = '';
  let exit: string | undefined;
  const onData = (d: Buffer) => {
    partial += d.toString();
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      if (lines.length > 400) lines.shift();
      if (line.startsWith('{')) {
        try {
          const record = JSON.parse(line) as Record<string, unknown>;
          records.push(record);
          if (records.length > 400) records.shift();
          if (service.pid === undefined && typeof record.pid === 'number') service.pid = record.pid;
        } catch {
          /* not JSON */
        }
      }
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  child.once('exit', (code, signal) => {
    exit = signal ?? `code ${code}`;
  });
  const service: Service = {
    name,
    child,
    pid: undefined,
    identity: () => `${service.pid}@${hostname()}`,
    tail: (n = 30) => lines.slice(-n).join('\n'),
    logged: async (message, timeoutMs = 120_000) => {
      try {
        return await eventually(() => records.find((r) => r.msg === message), `${name} to log "${message}"`, {
          timeoutMs,
          abort: () => (exit ? `${name} exited (${exit}) before logging "${message}"` : undefined),
        });
      } catch (err) {
        throw new Error(`${(err as Error).message}. Its output:\n${service.tail()}`, { cause: err });
      }
    },
    stop: async (graceMs = 15_000) => {
      if (child.pid === undefined) return;
      killGroup(child, 'SIGTERM');
      killGroup(child, 'SIGCONT'); // a stopped (SIGSTOP) process acts on SIGTERM only once it runs
      const deadline = Date.now() + graceMs;
      while (!service.gone() && Date.now() < deadline) await sleep(50);
      if (!service.gone()) killGroup(child, 'SIGKILL');
      while (!service.gone()) await sleep(50);
      running.delete(service);
    },
    gone: () => [child.pid, service.pid].every((pid) => pid === undefined || !processAlive(pid)),
  };
  running.add(service);
  return service;
}

