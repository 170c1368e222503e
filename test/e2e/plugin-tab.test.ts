// A plugin's web tab in the editor, in a real browser against the real API: the weather
// plugin's hand-written tab (plugins/weather/web/) is listed, opened in an iframe sandboxed
// to allow-scripts, reads the chain and the UI language over postMessage and inserts a
// "Current weather" node into the chain, in English and in Russian. The tab's files are
// served with their content types and nothing outside its folder is (no `..`, no symlink
// out, no other plugin file).

import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_PLUGINS_DIR, PluginRegistry } from '../../lib/plugins/host.ts';
import { setProcessPlugins } from '../../lib/plugins/process.ts';
import { startE2eApp, type E2eApp } from './support/app.ts';
import { launchBrowser, openPage, screenshot, screenshotOnFailure, type WatchedPage } from './support/browser.ts';

const PASSWORD = 'correct horse battery';
const ADMIN = 'tab@example.com';
const extra = mkdtempSync(join(tmpdir(), 'cf-tab-plugins-'));
let registry: PluginRegistry;
let app: E2eApp;
let browser: Browser;
const pages: WatchedPage[] = [];

beforeAll(async () => {
  // A plugin whose web folder holds a symlink to a file outside it (never served).
  writeFileSync(join(extra, 'secret.txt'), 'outside the web folder');
  mkdirSync(join(extra, 'tabby', 'web'), { recursive: true });
  writeFileSync(join(extra, 'tabby', 'web', 'index.html'), '<!doctype html><p>tabby</p>');
  symlinkSync(join(extra, 'secret.txt'), join(extra, 'tabby', 'web', 'leak.txt'));
  writeFileSync(join(extra, 'tabby', 'web', '.env'), 'outside the web folder (a dotfile)');
  writeFileSync(join(extra, 'tabby', 'index.ts'), `import { definePlugin } from 'chainflow/plugin-sdk';\nexport default definePlugin({ id: 'tabby', version: '1.0.0', title: { en: 'Tabby', ru: 'Табби' }, description: { en: 't', ru: 't' }, webTab: { title: { en: 'Tabby', ru: 'Табби' }, dir: 'web' } });\n`);
  registry = new PluginRegistry({ dirs: [BUILTIN_PLUGINS_DIR, extra] });
  await registry.refresh();
  setProcessPlugins(registry);
  [app, browser] = await Promise.all([startE2eApp('e2etab'), launchBrowser()]);
  await app.createAccount(ADMIN, PASSWORD, 'admin', 'Tab');
  expect(await app.seedExamples()).toEqual(['greeting']);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  setProcessPlugins(undefined);
  await registry?.close();
  rmSync(extra, { recursive: true, force: true });
});

afterEach(async ({ task }) => {
  await screenshotOnFailure(task, pages.at(-1)?.page);
  for (const p of pages) expect(p.problems.splice(0)).toEqual([]);
});

/** GET with the path sent exactly as written (fetch would normalise `..`). */
function rawGet(path: string): Promise<{ status: number; type: string; csp: string; body: string }> {
  const url = new URL(app.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), csp: String(res.headers['content-security-policy'] ?? ''), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function signInAndOpenGreeting(page: Page): Promise<void> {
  await page.goto('/login');
  await page.locator('input[name="email"]').fill(ADMIN);
  await page.locator('input[name="password"]').fill(PASSWORD);
  await page.locator('button[type="submit"]').click();
  await page.waitForURL((url) => url.pathname === '/chains');
  await page.getByTestId('chain-card-greeting').locator('a').first().click();
  await page.waitForURL((url) => /^\/chains\/[0-9a-f-]{36}$/.test(url.pathname));
  await expect.poll(() => page.locator('.vue-flow__node').count(), { timeout: 15_000 }).toBeGreaterThan(0);
}

describe('plugin web tabs', () => {
  it('serves only the files inside the declared web folder, with their content types', async () => {
    const html = await rawGet('/api/v1/plugin-tabs/weather/index.html');
    expect(html).toMatchObject({ status: 200, type: 'text/html; charset=utf-8' });
    expect(html.csp).toContain('sandbox allow-scripts');
    expect(html.body).toContain('tab.js');
    expect(await rawGet('/api/v1/plugin-tabs/weather/tab.js')).toMatchObject({ status: 200, type: 'text/javascript; charset=utf-8' });
    expect(await rawGet('/api/v1/plugin-tabs/weather/tab.css')).toMatchObject({ status: 200, type: 'text/css; charset=utf-8' });
    expect(await rawGet('/api/v1/plugin-tabs/tabby/index.html')).toMatchObject({ status: 200 });
    for (const path of [
      '/api/v1/plugin-tabs/weather/../index.ts',
      '/api/v1/plugin-tabs/weather/%2e%2e/index.ts',
      '/api/v1/plugin-tabs/weather/..%2Findex.ts',
      '/api/v1/plugin-tabs/weather/%2e%2e%2f%2e%2e%2fpackage.json',
      '/api/v1/plugin-tabs/weather/..%5Cindex.ts',
      '/api/v1/plugin-tabs/tabby/leak.txt',
      '/api/v1/plugin-tabs/tabby/.env',
      '/api/v1/plugin-tabs/spam-filter/index.html',
      '/api/v1/plugin-tabs/nope/index.html',
      '/api/v1/plugin-tabs/weather/missing.js',
    ]) {
      const res = await rawGet(path);
      expect({ path, status: res.status, leaked: /definePlugin|outside the web folder|"name": "chainflow"/.test(res.body) }).toEqual({ path, status: 404, leaked: false });
    }
  });

  for (const [locale, lang] of [['en-US', 'en'], ['ru-RU', 'ru']] as const) {
    it(`opens the weather tab sandboxed, gives it the chain and the language, and inserts its node (${lang})`, async () => {
      const watched = await openPage(browser, app.url, { locale });
      pages.push(watched);
      const { page } = watched;
      await signInAndOpenGreeting(page);
      await page.getByTestId('plugin-tab-weather').click();
      const iframe = page.getByTestId('plugin-tab-frame-weather');
      expect(await iframe.getAttribute('sandbox')).toBe('allow-scripts');
      const frame = page.frameLocator('[data-testid="plugin-tab-frame-weather"]');
      await expect.poll(() => frame.getByTestId('weather-tab-chain').textContent(), { timeout: 15_000 }).toMatch(/\([0-9a-f-]{36}\)$/);
      expect(await frame.locator('#language').textContent()).toBe(lang);
      expect(await frame.locator('h1').textContent()).toBe(lang === 'ru' ? 'Погода' : 'Weather');
      const before = await page.locator('.vue-flow__node').count();
      await frame.getByTestId('weather-tab-insert').click();
      await expect.poll(() => frame.getByTestId('weather-tab-status').textContent(), { timeout: 10_000 }).toMatch(lang === 'ru' ? /^Вставлен узел \S+\.$/ : /^Inserted node \S+\.$/);
      const nodeId = /(?:node|узел) (\S+)\.$/.exec((await frame.getByTestId('weather-tab-status').textContent()) ?? '')?.[1] ?? '';
      await expect.poll(() => page.locator(`.vue-flow__node[data-id="${nodeId}"]`).count()).toBe(1);
      expect(await page.locator('.vue-flow__node').count()).toBe(before + 1);
      await screenshot(page, lang === 'en' ? 'plugin-tab' : 'plugin-tab-ru');
      await watched.context.close();
    });
  }
});
