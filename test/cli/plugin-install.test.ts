// `chainflow plugin install <dir|.tgz>` and `chainflow plugin list` as real processes: a
// folder and an npm-pack style archive are checked by loading them once in a plugin
// thread, then copied into PLUGINS_DIR under the plugin's own id (node_modules left out);
// what does not load is refused with its load error and nothing is copied.

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scaffoldPlugin } from '../../cli/plugin.ts';

const BIN = fileURLToPath(new URL('../../bin/chainflow.js', import.meta.url));
let dir: string;
let pluginsDir: string;

async function chainflow(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'test', LOG_LEVEL: 'warn', DATA_DIR: join(dir, 'data'), PLUGINS_DIR: pluginsDir };
  const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  clearTimeout(timer);
  return { code, stdout, stderr };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'chainflow-plugin-cli-'));
  pluginsDir = join(dir, 'installed');
  mkdirSync(pluginsDir);
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('chainflow plugin install', () => {
  it('installs a folder under its id, without its node_modules', async () => {
    const source = scaffoldPlugin(join(dir, 'src'), 'greeter');
    mkdirSync(join(source, 'node_modules', 'left-out'), { recursive: true });
    writeFileSync(join(source, 'node_modules', 'left-out', 'index.js'), 'export {};\n');
    const result = await chainflow('plugin', 'install', source);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`installed greeter into ${join(pluginsDir, 'greeter')}`);
    expect(readdirSync(join(pluginsDir, 'greeter')).sort()).toEqual(['greeting.test.ts', 'greeting.ts', 'index.ts']);
  }, 120_000);

  it('installs an npm-pack archive (package/ inside, file named otherwise) under the id its entry declares', async () => {
    const staging = join(dir, 'pack');
    scaffoldPlugin(staging, 'packed');
    execFileSync('mv', [join(staging, 'packed'), join(staging, 'package')]);
    const archive = join(dir, 'chainflow-plugin-packed-2.0.0.tgz');
    execFileSync('tar', ['-czf', archive, '-C', staging, 'package']);
    const result = await chainflow('plugin', 'install', archive);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`installed packed into ${join(pluginsDir, 'packed')}`);
    expect(existsSync(join(pluginsDir, 'packed', 'index.ts'))).toBe(true);
  }, 120_000);

  it('refuses a folder that does not load, naming the error, and copies nothing', async () => {
    const broken = join(dir, 'src', 'broken');
    mkdirSync(broken, { recursive: true });
    writeFileSync(join(broken, 'index.ts'), "export default { title: 'no id' };\n");
    const result = await chainflow('plugin', 'install', broken);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('the entry must default-export definePlugin({...}) from chainflow/plugin-sdk');
    expect(existsSync(join(pluginsDir, 'broken'))).toBe(false);
    const missing = await chainflow('plugin', 'install', join(dir, 'nowhere'));
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('does not exist');
  }, 120_000);

  it('lists the installed plugins with their status and node types', async () => {
    const result = await chainflow('plugin', 'list');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^greeter\t0\.1\.0\tloaded\tplugin:greeter\/greet$/m);
    expect(result.stdout).toMatch(/^packed\t0\.1\.0\tloaded\tplugin:packed\/greet$/m);
    expect(result.stdout).toMatch(/^weather\t1\.0\.0\tloaded\tplugin:weather\/current$/m);
  }, 120_000);
});
