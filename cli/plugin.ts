// `chainflow plugin new NAME | list | install <dir|.tgz>` (docs/plugins.md).

import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import type { Config } from '../config.ts';
import { BUILTIN_PLUGINS_DIR, PluginRegistry } from '../lib/plugins/host.ts';

const ID = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** The files of a new plugin `id`: an entry, a helper module and a test. */
export function scaffoldFiles(id: string): Record<string, string> {
  return {
    'index.ts': `import { definePlugin, node, z } from 'chainflow/plugin-sdk';
import { greetingFor } from './greeting.ts';

export default definePlugin({
  id: '${id}',
  version: '0.1.0',
  title: { en: '${id}', ru: '${id}' },
  description: { en: 'Greets someone by name.', ru: 'Приветствует по имени.' },
  chainflow: '>=0.1.0',
  permissions: { network: [], credentials: [] },
  nodes: {
    greet: node({
      label: { en: 'Greet', ru: 'Поприветствовать' },
      help: { en: "Writes a greeting into 'Save to'.", ru: "Пишет приветствие в 'Сохранить в'." },
      config: z.object({
        name: z.string().min(1).meta({ label: { en: 'Name', ru: 'Имя' }, help: { en: 'Who to greet; templates allowed', ru: 'Кого приветствовать; можно шаблоны' } }),
        variable: z.string().default('session.greeting').meta({ label: { en: 'Save to', ru: 'Сохранить в' } }),
      }),
      run: (_ctx, config) => ({ ok: true, set: { [config.variable]: greetingFor(config.name) } }),
    }),
  },
});
`,
    'greeting.ts': `/** The greeting text (a helper module: editing it reloads the plugin too). */
export function greetingFor(name: string): string {
  return \`Hello, \${name}!\`;
}
`,
    'greeting.test.ts': `import { describe, expect, it } from 'vitest';
import { greetingFor } from './greeting.ts';

describe('${id}', () => {
  it('greets by name', () => {
    expect(greetingFor('Ann')).toBe('Hello, Ann!');
  });
});
`,
  };
}

/** Writes a new plugin into `parent/id`; refuses an existing folder. */
export function scaffoldPlugin(parent: string, id: string): string {
  if (!ID.test(id)) throw new Error(`Plugin name "${id}" must be lowercase letters, digits, '-' or '_' (starting with a letter or digit).`);
  const folder = join(parent, id);
  if (existsSync(folder)) throw new Error(`${folder} exists already; pick another name or remove it.`);
  mkdirSync(folder, { recursive: true });
  for (const [name, text] of Object.entries(scaffoldFiles(id))) writeFileSync(join(folder, name), text);
  return folder;
}

function targetDir(config: Config): string {
  return config.plugins.dir ?? BUILTIN_PLUGINS_DIR;
}

export async function pluginCommand(config: Config, args: string[]): Promise<void> {
  const [sub, arg] = args;
  if (sub === 'new') {
    if (!arg) throw new Error('Usage: chainflow plugin new NAME');
    const folder = scaffoldPlugin(targetDir(config), arg);
    console.log(`created ${folder} (index.ts, greeting.ts, greeting.test.ts); running API and workers pick it up within seconds`);
    return;
  }
  if (sub === 'list') {
    const registry = new PluginRegistry({ dirs: [BUILTIN_PLUGINS_DIR, ...(config.plugins.dir ? [config.plugins.dir] : [])] });
    await registry.refresh();
    for (const plugin of registry.list()) {
      const nodes = plugin.manifest?.nodes.map((n) => n.type).join(', ') ?? '';
      console.log(`${plugin.id}\t${plugin.version ?? '-'}\t${plugin.status}\t${nodes}${plugin.lastErrors[0] ? `\t${plugin.lastErrors[0].message}` : ''}`);
    }
    await registry.close();
    return;
  }
  if (sub === 'install') {
    if (!arg) throw new Error('Usage: chainflow plugin install <dir|file.tgz>');
    const source = resolve(arg);
    if (!existsSync(source)) throw new Error(`${source} does not exist.`);
    let folder = source;
    let scratch: string | undefined;
    if (statSync(source).isFile()) {
      scratch = mkdtempSync(join(tmpdir(), 'cf-plugin-'));
      execFileSync('tar', ['-xzf', source, '-C', scratch]);
      const top = readdirSync(scratch);
      // npm pack puts everything under package/.
      folder = top.length === 1 && statSync(join(scratch, top[0] ?? '')).isDirectory() ? join(scratch, top[0] ?? '') : scratch;
    }
    try {
      // Load it once in a thread to learn its id (and refuse what does not load).
      const probeRoot = mkdtempSync(join(tmpdir(), 'cf-plugin-probe-'));
      const guess = basename(source).replace(/(-\d+\.\d+\.\d+)?\.tgz$/, '');
      const registry = new PluginRegistry({ dirs: [probeRoot] });
      const entries = readdirSync(folder);
      if (!entries.some((name) => /^index\.(ts|js|mjs)$/.test(name))) throw new Error(`${folder} has no index.ts/index.js: not a plugin.`);
      const id = await probeId(folder, probeRoot, guess, registry);
      rmSync(probeRoot, { recursive: true, force: true });
      const destination = join(targetDir(config), id);
      if (existsSync(destination)) rmSync(destination, { recursive: true });
      cpSync(folder, destination, { recursive: true, filter: (path) => !path.split(/[\\/]/).includes('node_modules') });
      console.log(`installed ${id} into ${destination}`);
    } finally {
      if (scratch) rmSync(scratch, { recursive: true, force: true });
    }
    return;
  }
  throw new Error('Usage: chainflow plugin new NAME | list | install <dir|file.tgz>');
}

/** The plugin's id: tries the folder's name; a mismatch error names the real id. */
async function probeId(folder: string, probeRoot: string, guess: string, registry: PluginRegistry): Promise<string> {
  for (const candidate of [basename(folder), guess]) {
    if (!ID.test(candidate)) continue;
    rmSync(join(probeRoot, candidate), { recursive: true, force: true });
    cpSync(folder, join(probeRoot, candidate), { recursive: true, filter: (path) => !path.split(/[\\/]/).includes('node_modules') });
    await registry.refresh();
    const status = registry.get(candidate);
    if (status?.status === 'loaded') {
      await registry.close();
      return candidate;
    }
    const real = /its id "([a-z0-9_-]+)" differs/.exec(status?.lastErrors[0]?.message ?? '')?.[1];
    rmSync(join(probeRoot, candidate), { recursive: true, force: true });
    if (real) {
      cpSync(folder, join(probeRoot, real), { recursive: true, filter: (path) => !path.split(/[\\/]/).includes('node_modules') });
      await registry.refresh();
      if (registry.get(real)?.status === 'loaded') {
        await registry.close();
        return real;
      }
    }
    if (status?.lastErrors[0]) {
      await registry.close();
      throw new Error(status.lastErrors[0].message);
    }
  }
  await registry.close();
  throw new Error(`${folder} does not load as a plugin.`);
}
