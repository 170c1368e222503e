import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PluginRegistry } from './host.ts';
import { MAX_ANNOTATION_CHARS, runBeforeHooks } from './hooks.ts';

// Before-message hooks of several plugins, each in its real thread: plugin-id order, each
// seeing the text the ones before it left, annotations by plugin, the first drop ending
// the round, and a hook that throws recorded while the message goes on (fail-open).
const dir = mkdtempSync(join(tmpdir(), 'cf-hooks-'));
const logged: string[] = [];
const log = { warn: (_fields: Record<string, unknown>, message: string) => void logged.push(message) };
let registry: PluginRegistry;

function plugin(id: string, hook: string): void {
  mkdirSync(join(dir, id));
  writeFileSync(join(dir, id, 'index.ts'), `import { definePlugin } from 'chainflow/plugin-sdk';\nexport default definePlugin({ id: '${id}', version: '1.0.0', title: { en: '${id}', ru: '${id}' }, description: { en: 't', ru: 't' }, hooks: { beforeMessage: ${hook} } });\n`);
}

beforeAll(async () => {
  plugin('c-drop', `(ctx, m) => (m.text ?? '').includes('SPAM') ? { action: 'drop', reason: 'spam', reply: 'No spam here' } : { action: 'continue', annotations: { saw: m.text ?? null } }`);
  plugin('a-upper', `(ctx, m) => ({ action: 'continue', text: (m.text ?? '').toUpperCase(), annotations: (m.text ?? '').includes('big') ? { blob: 'x'.repeat(${MAX_ANNOTATION_CHARS + 10}) } : { was: m.text ?? null } })`);
  plugin('b-boom', `(ctx, m) => { if ((m.text ?? '').includes('BOOM')) throw new Error('kaboom'); return { action: 'continue' }; }`);
  registry = new PluginRegistry({ dirs: [dir] });
  await registry.refresh();
}, 60_000);

afterAll(async () => {
  await registry.close();
  rmSync(dir, { recursive: true, force: true });
});

const message = (text: string) => ({ botId: 'b', chatId: '1', userId: '1', text });

describe('before-message hooks', () => {
  it('run in plugin-id order, each on the text the ones before left, annotations keyed by plugin', async () => {
    expect(registry.withHook('beforeMessage')).toEqual(['a-upper', 'b-boom', 'c-drop']);
    expect(await runBeforeHooks(registry, message('hello'), log)).toEqual({ action: 'continue', text: 'HELLO', meta: { a_upper: { was: 'hello' }, c_drop: { saw: 'HELLO' } }, replies: [] });
  });

  it('stop at the first drop, with its reason and reply', async () => {
    expect(await runBeforeHooks(registry, message('buy spam'), log)).toEqual({ action: 'drop', pluginId: 'c-drop', reason: 'spam', replies: [{ pluginId: 'c-drop', text: 'No spam here' }] });
  });

  it('go on past a hook that throws (recorded as its error) and leave out oversized annotations', async () => {
    expect(await runBeforeHooks(registry, message('boom'), log)).toEqual({ action: 'continue', text: 'BOOM', meta: { a_upper: { was: 'boom' }, c_drop: { saw: 'BOOM' } }, replies: [] });
    expect(registry.get('b-boom')?.lastErrors[0]?.message).toBe('Plugin "b-boom": its beforeMessage hook failed (kaboom); the message went on unchanged.');
    expect(logged).toContain('plugins: hook failed; fail-open');
    const big = await runBeforeHooks(registry, message('big one'), log);
    expect(big).toMatchObject({ action: 'continue', text: 'BIG ONE', meta: { c_drop: { saw: 'BIG ONE' } } });
    expect(big.action === 'continue' && 'a_upper' in big.meta).toBe(false);
    expect(registry.get('a-upper')?.lastErrors[0]?.message).toMatch(/annotations are \d+ characters \(at most 4096\)/);
  });
});
