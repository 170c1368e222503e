// Reload memory of the plugin host: RSS after N reloads of one plugin against RSS after
// the first (target: ≤ +20 MB after 100). Each reload starts a new worker thread for the
// new files and terminates the old one (ESM modules are never unloaded in place).
//   node bench/plugin-reload.ts [reloads]   (also run by `npm run bench -- --plugin-reloads 100`)

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PluginRegistry } from '../lib/plugins/host.ts';

const pluginSource = (n: number) => `import { definePlugin, node, z } from 'chainflow/plugin-sdk';
import { value } from './helper.ts';
export default definePlugin({ id: 'reloaded', version: '1.0.${n}', title: { en: 'R', ru: 'R' }, description: { en: 'R', ru: 'R' },
  nodes: { get: node({ label: { en: 'Get', ru: 'Get' }, help: { en: 'h', ru: 'h' }, config: z.object({}), run: () => ({ ok: true, set: { 'session.v': value } }) }) } });
`;

/** Reloads a plugin `reloads` times (one call after each); returns RSS after the first and the last (MB). */
export async function measureReloads(reloads: number): Promise<{ afterOneMb: number; afterAllMb: number; reloads: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'cf-plugin-bench-'));
  mkdirSync(join(dir, 'reloaded'));
  writeFileSync(join(dir, 'reloaded', 'index.ts'), pluginSource(0));
  writeFileSync(join(dir, 'reloaded', 'helper.ts'), `export const value = 0;\n`);
  const registry = new PluginRegistry({ dirs: [dir], pollMs: 3_600_000 });
  await registry.refresh();
  const step = async (n: number) => {
    await registry.reload('reloaded');
    const result = await registry.call('reloaded', { kind: 'node', key: 'get', config: {}, vars: {}, runId: 'bench', nodeId: String(n) });
    if (result.kind !== 'node' || !result.outcome.ok) throw new Error(`call ${n} failed`);
  };
  const rss = () => {
    globalThis.gc?.();
    return process.memoryUsage().rss / 1024 / 1024;
  };
  try {
    await step(1);
    const afterOneMb = rss();
    for (let n = 2; n <= reloads; n++) await step(n);
    // Retired threads are terminated after their drain; let those finish.
    await new Promise((resolve) => setTimeout(resolve, 500));
    return { afterOneMb, afterAllMb: rss(), reloads };
  } finally {
    await registry.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const reloads = Number(process.argv[2] ?? 100);
  const { afterOneMb, afterAllMb } = await measureReloads(reloads);
  const growth = afterAllMb - afterOneMb;
  console.log(`plugin reloads: RSS after 1 reload ${afterOneMb.toFixed(1)} MB, after ${reloads} ${afterAllMb.toFixed(1)} MB (+${growth.toFixed(1)} MB; target ≤ +20 MB) ${growth <= 20 ? 'OK' : 'OVER'}`);
  if (growth > 20) process.exitCode = 1;
}
