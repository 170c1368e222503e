import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { openSync, readFileSync, existsSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Process helpers shared by the embedded PostgreSQL and Temporal launchers and by
 * `chainflow start`: port checks, detached children with log files, orderly stops.
 */

/** A port we need is taken: the message names what it was for and how to change it. */
export class PortInUseError extends Error {
  override name = 'PortInUseError';
  readonly port: number;
  constructor(port: number, what: string, envVar: string, options?: ErrorOptions) {
    super(`Port ${port} (${what}) is already in use. Stop whatever listens there, or set ${envVar} to a free port.`, options);
    this.port = port;
  }
}

/** Resolves when `port` on `host` can be bound; throws {@link PortInUseError} otherwise. */
export async function assertPortFree(port: number, what: string, envVar: string, host = '127.0.0.1'): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const srv = createServer();
    srv.once('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'EADDRINUSE' || err.code === 'EACCES' ? new PortInUseError(port, what, envVar) : err);
    });
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve()));
  });
}

/** A free TCP port on loopback chosen by the kernel (for tests and auxiliary ports). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen({ port: 0, host }, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Whether a server's log says it could not bind a port (Temporal: `listen tcp
 * 127.0.0.1:7233: bind: address already in use`; PostgreSQL: `could not bind IPv4 address
 * "127.0.0.1": Address already in use`), and which port, when the log names it.
 */
export function bindFailure(log: string): { port: number | null } | null {
  if (!/address already in use/i.test(log)) return null;
  const named = /:(\d+): bind: address already in use/i.exec(log);
  return { port: named?.[1] ? Number(named[1]) : null };
}

/** What a log file gained since it was `offset` bytes long (the output of this start). */
export function logSince(logFile: string, offset: number): string {
  if (!existsSync(logFile)) return '';
  return readFileSync(logFile).subarray(offset).toString('utf8');
}

/** The current size of a log file (0 when it does not exist yet). */
export function logSize(logFile: string): number {
  return existsSync(logFile) ? statSync(logFile).size : 0;
}

/**
 * Starts a server on a port from `pick` (default {@link freePort}) and, when that port
 * turns out to be taken ({@link PortInUseError}), on another one: a port picked free can
 * be grabbed before the server binds it — e.g. as the local port of an outgoing
 * connection on a busy machine.
 *
 * @example const pg = await onFreePort((port) => startEmbeddedPostgres({ dir, port }));
 */
export async function onFreePort<T>(start: (port: number) => Promise<T>, opts: { attempts?: number; pick?: () => Promise<number> } = {}): Promise<T> {
  const attempts = opts.attempts ?? 3;
  const pick = opts.pick ?? (() => freePort());
  for (let attempt = 1; ; attempt++) {
    try {
      return await start(await pick());
    } catch (err) {
      if (!(err instanceof PortInUseError) || attempt >= attempts) throw err;
    }
  }
}

/** True while a process with this pid exists (signal 0 probes without killing). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The command line of a live process, or '' (Linux /proc). */
export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
  } catch {
    return '';
  }
}

export interface DetachedOptions {
  command: string;
  args: string[];
  /** stdout and stderr are appended here. */
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  uid?: number;
  gid?: number;
}

/**
 * Spawns a child in its own process group, so a Ctrl-C in the terminal reaches only the
 * supervisor, which then stops the children in order.
 */
export function spawnDetached(opts: DetachedOptions): ChildProcess {
  const fd = openSync(opts.logFile, 'a');
  const child = spawn(opts.command, opts.args, {
    detached: true,
    stdio: ['ignore', fd, fd],
    env: opts.env ?? process.env,
    cwd: opts.cwd,
    uid: opts.uid,
    gid: opts.gid,
  });
  return child;
}

/** Waits for `pid` to exit, polling; resolves false on timeout. */
export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

/**
 * Stops a process: `signal` first, SIGKILL after `graceMs`. Works for children and for
 * processes adopted from a pid file. Zombie children are reaped by the 'exit' listener.
 */
export async function stopProcess(pid: number, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (!isAlive(pid)) return;
  try {
    process.kill(pid, signal);
  } catch {
    return;
  }
  if (await waitForExit(pid, graceMs)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  await waitForExit(pid, 5000);
}

/** Polls `probe` until it resolves true, the child dies, or the timeout passes. */
export async function waitUntil(
  what: string,
  probe: () => Promise<boolean>,
  opts: { timeoutMs: number; child?: ChildProcess; logFile?: string },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let exited: string | undefined;
  opts.child?.once('exit', (code, signal) => {
    exited = `exited with ${signal ?? `code ${code}`}`;
  });
  for (;;) {
    if (exited) throw new Error(`${what} ${exited} while starting.${logTail(opts.logFile)}`);
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} did not become ready in ${opts.timeoutMs / 1000}s.${logTail(opts.logFile)}`);
    await sleep(200);
  }
}

/** The last lines of a log file, formatted for an error message. */
export function logTail(logFile: string | undefined, lines = 15): string {
  if (!logFile || !existsSync(logFile)) return '';
  const text = readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  return text ? `\nLast lines of ${logFile}:\n${text}` : '';
}
