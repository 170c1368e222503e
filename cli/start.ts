import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../db/embedded-postgres.ts';
import { startDevServer, type DevServer } from '../temporal/dev-server.ts';
import { assertPortFree, commandLine, isAlive, stopProcess, waitUntil } from '../lib/processes.ts';
import { createLogger, redactUrl } from '../lib/logger.ts';
import { ROOT } from '../lib/paths.ts';
import { WEB_DIST, runMigrations } from './services.ts';
import { loadSecretKey } from '../lib/secret-key.ts';
import { loadOrCreateJwtSecret } from '../api/auth/options.ts';
import { ensureSetupToken, setupLink, setupTokenPath } from '../api/auth/setup.ts';
import { createOrm } from '../db/orm.ts';

/**
 * `chainflow start`: everything up on embedded defaults, in order — PostgreSQL (unless
 * DATABASE_URL), migrations, the Temporal dev server (unless TEMPORAL_ADDRESS), the
 * worker, the API with the web app. Ctrl-C / SIGTERM stops them in reverse order.
 * Every child runs in its own process group, so the terminal's Ctrl-C reaches only us.
 */
export async function start(config: Config): Promise<void> {
  const started = Date.now();
  const say = (line: string) => process.stdout.write(`[chainflow] ${line}\n`);
  const runDir = join(config.dataDir, 'run');
  mkdirSync(runDir, { recursive: true });
  await takeOverDataDir(runDir, say);

  const stack: { name: string; stop: () => Promise<void> }[] = [];
  const children: ChildProcess[] = [];
  let shuttingDown = false;
  const record = () => writeStackFile(runDir, children);

  const shutdown = async (code: number) => {
    if (shuttingDown) return;
    shuttingDown = true;
    say('shutting down…');
    for (const part of [...stack].reverse()) {
      try {
        await part.stop();
        say(`${part.name} stopped`);
      } catch (err) {
        say(`${part.name} did not stop cleanly: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    rmSync(join(runDir, 'stack.json'), { force: true });
    process.exit(code);
  };
  let interrupts = 0;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      interrupts += 1;
      if (interrupts > 1 && sig === 'SIGINT') {
        say('second Ctrl-C: killing everything now');
        for (const c of children) if (c.pid) killGroup(c.pid, 'SIGKILL');
        process.exit(130);
      }
      void shutdown(0);
    });
  }

  try {
    // 1. PostgreSQL
    let databaseUrl = config.databaseUrl;
    if (!databaseUrl) {
      say(`starting PostgreSQL (embedded, port ${config.embeddedPostgresPort})`);
      const pg: EmbeddedPostgres = await startEmbeddedPostgres({
        dir: join(config.dataDir, 'postgres'),
        port: config.embeddedPostgresPort,
        onProgress: (l) => say(`  ${l}`),
      });
      stack.push({ name: 'PostgreSQL', stop: pg.stop });
      children.push(pseudoChild(pg.pid, 'postgres'));
      record();
      databaseUrl = pg.url;
    } else {
      say(`using PostgreSQL at ${redactUrl(databaseUrl)}`);
    }

    // 2. Migrations
    say('applying migrations');
    const { applied, seeded } = await runMigrations({ ...config, databaseUrl }, createLogger('warn', 'migrate'), { seed: true });
    say(applied.length ? `  applied ${applied.join(', ')}` : '  schema up to date');
    if (seeded.length) say(`  imported the example chains: ${seeded.join(', ')}`);

    // 3. Temporal
    let temporalAddress = config.temporal.address;
    let temporalUi = config.temporal.uiUrl;
    if (!temporalAddress) {
      say(`starting the Temporal dev server (port ${config.temporal.devPort}, UI ${config.temporal.uiPort})`);
      const dev: DevServer = await startDevServer({
        dir: join(config.dataDir, 'temporal'),
        namespace: config.temporal.namespace,
        port: config.temporal.devPort,
        uiPort: config.temporal.uiPort,
        onProgress: (l) => say(`  ${l}`),
      });
      stack.push({ name: 'Temporal dev server', stop: dev.stop });
      children.push(pseudoChild(dev.pid, 'temporal'));
      record();
      temporalAddress = dev.address;
      temporalUi = dev.uiUrl;
    } else {
      say(`using Temporal at ${temporalAddress} (namespace ${config.temporal.namespace})`);
    }

    // 4. Web app build (first start, or sources changed); the secrets key exists before any child reads it.
    ensureWebBuild(say);
    loadSecretKey(config);
    if (!config.auth.jwtSecret) loadOrCreateJwtSecret(config.dataDir);

    const childEnv = {
      ...process.env,
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: temporalAddress,
      ...(temporalUi ? { TEMPORAL_UI_URL: temporalUi } : {}),
      DATA_DIR: config.dataDir,
      CHAINFLOW_SUPERVISOR_PID: String(process.pid),
    };

    // 5. Worker
    say(`starting the worker (task queue ${config.temporal.taskQueue})`);
    const worker = spawnService('worker', childEnv);
    children.push(worker);
    record();
    stack.push({ name: 'worker', stop: () => stopChild(worker, 15_000) });
    watchUnexpectedExit(worker, 'worker', () => shuttingDown, shutdown, say);

    // 6. API
    await assertPortFree(config.port, 'Chainflow API', 'PORT', config.host === '0.0.0.0' ? '0.0.0.0' : config.host);
    say(`starting the API on ${config.host}:${config.port}`);
    const api = spawnService('api', childEnv);
    children.push(api);
    record();
    stack.push({ name: 'API', stop: () => stopChild(api, 10_000) });
    watchUnexpectedExit(api, 'API', () => shuttingDown, shutdown, say);

    const readyUrl = `http://127.0.0.1:${config.port}/ready`;
    await waitUntil('The Chainflow API', async () => (await fetch(readyUrl)).status === 200, { timeoutMs: 120_000, child: api });

    // No admin yet: the one-time setup link (the API wrote the token into DATA_DIR/setup-token).
    const setupOrm = await createOrm({ url: databaseUrl, poolMax: 1 });
    const setupToken = await ensureSetupToken(setupOrm.em.fork(), config.dataDir).finally(() => setupOrm.close());
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const ui = temporalUi ? `${temporalUi}/namespaces/${config.temporal.namespace}/workflows` : '(external Temporal: see its UI)';
    process.stdout.write(
      [
        '',
        `Chainflow is up (${seconds} s). Press Ctrl-C to stop.`,
        `  Editor and API   ${config.publicUrl}`,
        `  API              ${config.publicUrl}/api/v1`,
        `  Health           ${config.publicUrl}/health   ${config.publicUrl}/ready`,
        `  Temporal UI      ${ui}`,
        `  Temporal gRPC    ${temporalAddress} (namespace ${config.temporal.namespace})`,
        `  PostgreSQL       ${redactUrl(databaseUrl)}`,
        `  Data             ${config.dataDir}`,
        ...(setupToken
          ? ['', `  Make the first admin: open ${setupLink(config.publicUrl, setupToken)}`, `  (one-time link; the token is also in ${setupTokenPath(config.dataDir)}, or run: chainflow user create --role admin --email you@example.com)`]
          : []),
        '',
      ].join('\n'),
    );
  } catch (err) {
    say(`start failed: ${err instanceof Error ? err.message : String(err)}`);
    await shutdown(1);
  }
}

function spawnService(command: 'worker' | 'api', env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, [...process.execArgv, join(ROOT, 'cli', 'main.ts'), command], {
    detached: true,
    stdio: ['ignore', 'inherit', 'inherit'],
    env,
  });
}

async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  await stopProcess(child.pid, 'SIGTERM', graceMs);
}

function watchUnexpectedExit(
  child: ChildProcess,
  name: string,
  shuttingDown: () => boolean,
  shutdown: (code: number) => Promise<void>,
  say: (l: string) => void,
): void {
  child.on('exit', (code, signal) => {
    if (shuttingDown()) return;
    say(`the ${name} exited unexpectedly (${signal ?? `code ${code}`}); stopping everything`);
    void shutdown(1);
  });
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

/** A stand-in record for processes launched by the db/temporal launchers (pid only). */
function pseudoChild(pid: number, name: string): ChildProcess {
  return { pid, spawnfile: name } as unknown as ChildProcess;
}

interface StackFile {
  supervisor: number;
  children: { pid: number; cmd: string }[];
}

function writeStackFile(runDir: string, children: ChildProcess[]): void {
  const data: StackFile = {
    supervisor: process.pid,
    children: children.filter((c) => c.pid !== undefined).map((c) => ({ pid: c.pid as number, cmd: commandLine(c.pid as number) })),
  };
  writeFileSync(join(runDir, 'stack.json'), JSON.stringify(data, null, 2));
}

/**
 * One stack per data dir. A live supervisor → refuse. A dead one (kill -9) whose
 * children survived → stop those children, so their ports and files are free again.
 */
async function takeOverDataDir(runDir: string, say: (l: string) => void): Promise<void> {
  const file = join(runDir, 'stack.json');
  if (!existsSync(file)) return;
  let data: StackFile;
  try {
    data = JSON.parse(readFileSync(file, 'utf8')) as StackFile;
  } catch {
    rmSync(file, { force: true });
    return;
  }
  if (data.supervisor !== process.pid && isAlive(data.supervisor) && commandLine(data.supervisor).includes('main.ts')) {
    throw new Error(`Chainflow is already running from this data dir (pid ${data.supervisor}). Stop it first, or use another DATA_DIR.`);
  }
  for (const child of [...data.children].reverse()) {
    if (child.cmd && isAlive(child.pid) && commandLine(child.pid) === child.cmd) {
      say(`stopping a leftover process from a previous run (pid ${child.pid})`);
      await stopProcess(child.pid, child.cmd.includes('postgres') ? 'SIGINT' : 'SIGTERM', 20_000);
    }
  }
  rmSync(file, { force: true });
}

/** Builds web/dist with Vite when it is missing or older than the web sources. */
function ensureWebBuild(say: (l: string) => void): void {
  const webSrc = join(ROOT, 'web');
  if (!existsSync(join(webSrc, 'index.html'))) return;
  const built = join(WEB_DIST, 'index.html');
  // The app bundles chain/ (live validation in the browser), so its changes rebuild too.
  const sources = Math.max(newestMtime(join(webSrc, 'src')), newestMtime(join(ROOT, 'chain')), statSync(join(webSrc, 'index.html')).mtimeMs);
  if (existsSync(built) && sources <= statSync(built).mtimeMs) return;
  const vite = join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js');
  if (!existsSync(vite)) {
    say('web/dist is missing and Vite is not installed (npm install without dev dependencies?): the editor will not be served');
    return;
  }
  say('building the web app (first start or changed sources)');
  const res = spawnSync(process.execPath, [vite, 'build', '--logLevel', 'warn'], { cwd: webSrc, stdio: 'inherit' });
  if (res.status !== 0) throw new Error('The web app build failed; see the output above.');
}

function newestMtime(dir: string): number {
  if (!existsSync(dir)) return 0;
  let newest = 0;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = statSync(path);
    newest = Math.max(newest, st.isDirectory() ? newestMtime(path) : st.mtimeMs);
  }
  return newest;
}
