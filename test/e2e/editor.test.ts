// The editor in a real browser against the real API, database and Temporal worker: an
// editor signs in and builds a chain from the palette, undoes and redoes, copies nodes
// between chains, imports and exports YAML, in English and Russian, light and dark.
// Any console error or missing translation fails the run. Screenshots go to docs/screenshots/.

import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { parse as parseYaml } from 'yaml';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startE2eApp, type E2eApp } from './support/app.ts';
import { launchBrowser, openPage, screenshot, type WatchedPage } from './support/browser.ts';

const PASSWORD = 'correct horse battery';
const EDITOR = 'eve@example.com';
const ADMIN = 'ada@example.com';

let app: E2eApp;
let browser: Browser;
let tab: WatchedPage;
const pages: WatchedPage[] = [];

beforeAll(async () => {
  [app, browser] = await Promise.all([startE2eApp('e2e'), launchBrowser()]);
  tab = await open();
});
afterAll(async () => {
  await browser?.close();
  await app?.close();
});
afterEach(() => {
  // Console errors and missing i18n keys anywhere fail the test that caused them.
  for (const p of pages) {
    const seen = p.problems.splice(0);
    expect(seen).toEqual([]);
  }
});

async function open(opts: Parameters<typeof openPage>[2] = {}): Promise<WatchedPage> {
  const page = await openPage(browser, app.url, opts);
  pages.push(page);
  return page;
}

async function signIn(page: Page, email: string): Promise<void> {
  await page.goto('/login');
  await page.locator('input[name="email"]').fill(email);
  await page.locator('input[name="password"]').fill(PASSWORD);
  await page.locator('button[type="submit"]').click();
  await page.waitForURL('**/chains');
}

const nodes = (page: Page) => page.locator('.vue-flow__node');
const edges = (page: Page) => page.locator('.vue-flow__edge');

async function expectCount(locator: ReturnType<Page['locator']>, n: number): Promise<void> {
  await expect.poll(() => locator.count(), { timeout: 10_000 }).toBe(n);
}

async function connect(page: Page, fromTestId: string, toTestId: string): Promise<void> {
  const before = await edges(page).count();
  const a = await page.getByTestId(fromTestId).boundingBox();
  const b = await page.getByTestId(toTestId).boundingBox();
  if (!a || !b) throw new Error(`cannot see ${a ? toTestId : fromTestId}`);
  await page.mouse.move(a.x + a.width / 2, a.y + a.height / 2);
  await page.mouse.down();
  await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2, { steps: 12 });
  await page.mouse.up();
  await expectCount(edges(page), before + 1);
}

async function tidy(page: Page): Promise<void> {
  await page.getByTestId('tidy-button').click();
  await page.waitForTimeout(0);
  await page.getByTestId('fit-button').click();
  // the fit animation lasts 200 ms; wait until node boxes stop moving
  let last = '';
  await expect
    .poll(async () => {
      const now = JSON.stringify(await nodes(page).evaluateAll((els) => els.map((e) => e.getBoundingClientRect().x)));
      const same = now === last;
      last = now;
      return same;
    }, { intervals: [150] })
    .toBe(true);
}

async function selectNode(page: Page, id: string, add = false): Promise<void> {
  await page.getByTestId(`node-${id}`).locator('.title').click({ modifiers: add ? ['ControlOrMeta'] : [] });
}

async function waitSaved(page: Page): Promise<void> {
  await expect.poll(() => page.getByTestId('save-state').getAttribute('data-state'), { timeout: 10_000 }).toBe('saved');
}

describe('first start', () => {
  it('opens on the setup page, which explains where the setup link is', async () => {
    await tab.page.goto('/');
    await tab.page.waitForURL('**/setup**');
    await expect.poll(() => tab.page.getByTestId('setup-needs-link').isVisible()).toBe(true);
    await screenshot(tab.page, 'setup');
  });

  it('shows the seeded greeting chain on the canvas with every node and edge drawn', async () => {
    await app.createAccount(ADMIN, PASSWORD, 'admin', 'Ada');
    expect(await app.seedExamples()).toEqual(['greeting']);
    await signIn(tab.page, ADMIN);
    await expect.poll(() => tab.page.getByTestId('chain-card-greeting').isVisible()).toBe(true);
    await screenshot(tab.page, 'chains');
    await tab.page.getByTestId('chain-card-greeting').locator('a').first().click();
    const greeting = parseYaml(readFileSync(new URL('../../examples/greeting.yaml', import.meta.url), 'utf8')) as { nodes: unknown[]; edges: unknown[] };
    await expectCount(nodes(tab.page), greeting.nodes.length);
    await expectCount(edges(tab.page), greeting.edges.length);
    await screenshot(tab.page, 'editor-greeting');
    await tab.page.getByTestId('sign-out').click();
    await tab.page.waitForURL('**/login');
  });
});
