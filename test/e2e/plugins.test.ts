// The Plugins screen in a real browser against the real API, database and plugin threads:
// a plugin found in PLUGINS_DIR is listed disabled with its declared permissions; the
// admin reviews them (shown before enabling), approves and enables it, its settings form
// refuses a bad value naming the field and saves a good one, and disabling takes its
// node type away again. Screenshots: docs/screenshots/plugins.png (and the review dialog).

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_PLUGINS_DIR, PluginRegistry } from '../../lib/plugins/host.ts';
import { setProcessPlugins } from '../../lib/plugins/process.ts';
import { PluginState, setProcessPluginState } from '../../lib/plugins/state.ts';
import { startE2eApp, type E2eApp } from './support/app.ts';
import { launchBrowser, openPage, screenshot, screenshotOnFailure, type WatchedPage } from './support/browser.ts';

const PASSWORD = 'correct horse battery';
const ADMIN = 'ada@example.com';
const dir = mkdtempSync(join(tmpdir(), 'cf-plugins-e2e-'));
/** The machine may be busy: answers are polled for, never waited for with a fixed sleep. */
const POLL = { timeout: 15_000 };

let app: E2eApp;
let browser: Browser;
let tab: WatchedPage;
let registry: PluginRegistry;
let state: PluginState;

const hello = `import { definePlugin, node, z } from 'chainflow/plugin-sdk';
export default definePlugin({
  id: 'hello', version: '1.0.0', title: { en: 'Hello', ru: 'Привет' }, description: { en: 'Greets people by name.', ru: 'Приветствует по имени.' }, author: 'Example Ltd',
  permissions: { network: ['api.example.com'], credentials: [] },
  settings: z.object({
    greeting: z.string().min(2).default('Hello').meta({ label: { en: 'Greeting', ru: 'Приветствие' }, help: { en: 'At least two letters', ru: 'Не короче двух букв' } }),
    loud: z.boolean().default(false).meta({ label: { en: 'Shout', ru: 'Кричать' } }),
    apiKey: z.string().optional().meta({ secret: true, label: { en: 'API key', ru: 'Ключ API' } }),
  }),
  nodes: { greet: node({ label: { en: 'Greet', ru: 'Поприветствовать' }, help: { en: 'Greets', ru: 'Приветствует' }, config: z.object({ name: z.string() }), run: (ctx, c) => ({ ok: true, set: { 'session.greeting': ctx.settings.greeting + ', ' + c.name } }) }) },
});
`;

beforeAll(async () => {
  mkdirSync(join(dir, 'hello'));
  writeFileSync(join(dir, 'hello', 'index.ts'), hello);
  mkdirSync(join(dir, 'broken'));
  writeFileSync(join(dir, 'broken', 'index.ts'), "export default { title: 'not a plugin' };\n");
  [app, browser] = await Promise.all([startE2eApp('e2eplug'), launchBrowser()]);
  state = new PluginState({ orm: app.h.db.orm, secretBox: app.h.secretBox, databaseUrl: app.h.db.url, processName: 'api' });
  registry = new PluginRegistry({ dirs: [BUILTIN_PLUGINS_DIR, dir], ...state.registryOptions() });
  await state.start(registry);
  await registry.start();
  await state.ready();
  setProcessPlugins(registry);
  setProcessPluginState(state);
  await app.createAccount(ADMIN, PASSWORD, 'admin', 'Ada');
  tab = await openPage(browser, app.url);
  await tab.page.goto('/login');
  await tab.page.locator('input[name="email"]').fill(ADMIN);
  await tab.page.locator('input[name="password"]').fill(PASSWORD);
  await tab.page.locator('button[type="submit"]').click();
  await tab.page.waitForURL((url) => url.pathname === '/chains');
});
afterAll(async () => {
  await browser?.close();
  setProcessPlugins(undefined);
  setProcessPluginState(undefined);
  await state?.close();
  await registry?.close();
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(async ({ task }) => {
  await screenshotOnFailure(task, tab?.page);
  expect(tab.problems.splice(0)).toEqual([]);
});

describe('the Plugins screen', () => {
  it('lists plugins with status, permissions and errors; the admin reviews the permissions, approves and enables', async () => {
    const { page } = tab;
    await page.getByTestId('nav-plugins').click();
    await page.waitForURL((url) => url.pathname === '/plugins');
    await expect.poll(() => page.getByTestId('plugin-status-jsonata').textContent(), POLL).toBe('Running');
    expect(await page.getByTestId('plugin-status-hello').textContent()).toBe('Disabled');
    expect(await page.getByTestId('plugin-status-broken').textContent()).toBe('Does not load');
    expect(await page.getByTestId('plugin-errors-broken').textContent()).toContain('the entry must default-export definePlugin');
    // Declared permissions are on the row before anything is enabled.
    expect(await page.getByTestId('plugin-permissions-hello').textContent()).toContain('Network: api.example.com');
    expect(registry.installedTypes()).not.toContain('plugin:hello/greet');
    await page.getByTestId('plugin-errors-broken').locator('summary').click();
    await screenshot(page, 'plugins');

    await page.getByTestId('plugin-enable-hello').click();
    const review = page.getByTestId('plugin-review');
    await review.waitFor();
    expect(await review.textContent()).toContain('Network: api.example.com · new');
    await screenshot(page, 'plugins-review');
    await page.getByTestId('plugin-approve-hello').click();
    await expect.poll(() => page.getByTestId('plugin-status-hello').textContent(), POLL).toBe('Running');
    expect(registry.installedTypes()).toContain('plugin:hello/greet');
    expect(state.row('hello')).toMatchObject({ enabled: true, approvedPermissions: { network: ['api.example.com'], credentials: [] } });
  });

  it('the settings form refuses a bad value naming the field and saves a good one; disabling removes the node type', async () => {
    const { page } = tab;
    await page.getByTestId('plugin-settings-hello').click();
    const dialog = page.getByTestId('plugin-settings-dialog');
    await dialog.waitFor();
    const greeting = page.getByTestId('plugin-setting-greeting').locator('input');
    await expect.poll(() => greeting.inputValue(), POLL).toBe('Hello');
    await greeting.fill('x');
    tab.expectedStatuses.push(400);
    await page.getByTestId('plugin-settings-save').click();
    await expect.poll(() => page.getByTestId('plugin-settings-error').textContent(), POLL).toContain('body.values.greeting');
    await greeting.fill('Bonjour');
    await page.getByTestId('plugin-setting-apiKey').locator('input').fill('sk-e2e-secret-42');
    await page.getByTestId('plugin-settings-save').click();
    await dialog.waitFor({ state: 'detached' });
    await expect.poll(() => state.settings('hello'), POLL).toMatchObject({ greeting: 'Bonjour', apiKey: 'sk-e2e-secret-42' });

    await page.getByTestId('plugin-disable-hello').click();
    await expect.poll(() => page.getByTestId('plugin-status-hello').textContent(), POLL).toBe('Disabled');
    expect(registry.installedTypes()).not.toContain('plugin:hello/greet');
  });

  it('speaks Russian', async () => {
    const { page } = tab;
    await page.getByTestId('language-switch').click();
    await expect.poll(() => page.getByTestId('plugin-status-jsonata').textContent(), POLL).toBe('Работает');
    expect(await page.getByTestId('plugin-permissions-hello').textContent()).toContain('Сеть: api.example.com');
    await page.screenshot({ path: join(tmpdir(), 'chainflow-plugins-ru.png') });
    await page.getByTestId('language-switch').click();
    await expect.poll(() => page.getByTestId('plugin-status-jsonata').textContent(), POLL).toBe('Running');
  });
});
