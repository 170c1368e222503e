// The editor's side panels and big chains in a real browser against the real API,
// database, Temporal worker and live-events socket: the simulator talks to the seeded
// greeting's draft through both branches of its name condition while the canvas follows
// the session; two versions are diffed on the canvas and one is rolled back; a generated
// 1,000-node chain opens (timings are `npm run bench:editor`'s, not asserted here).

import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { importChain } from '../../api/services/chain-service.ts';
import { generateChain } from '../../bench/generate.ts';
import { startE2eApp, type E2eApp } from './support/app.ts';
import { launchBrowser, openPage, screenshot, screenshotOnFailure, type WatchedPage } from './support/browser.ts';

const PASSWORD = 'correct horse battery';
const ADMIN = 'ada@example.com';

let app: E2eApp;
let browser: Browser;
let tab: WatchedPage;
let bigChainId = '';
const pages: WatchedPage[] = [];

beforeAll(async () => {
  [app, browser] = await Promise.all([startE2eApp('e2ep', { live: true }), launchBrowser()]);
  await app.createAccount(ADMIN, PASSWORD, 'admin', 'Ada');
  expect(await app.seedExamples()).toEqual(['greeting']);
  bigChainId = (await importChain(app.h.db.orm.em.fork(), generateChain(1000))).chain.id;
  tab = await open();
  await signIn(tab.page);
});
afterAll(async () => {
  await browser?.close();
  await app?.close();
});
afterEach(async ({ task }) => {
  await screenshotOnFailure(task, tab?.page);
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

async function signIn(page: Page): Promise<void> {
  await page.goto('/login');
  await page.locator('input[name="email"]').fill(ADMIN);
  await page.locator('input[name="password"]').fill(PASSWORD);
  await page.locator('button[type="submit"]').click();
  await page.waitForURL((url) => url.pathname === '/chains');
}

async function openChain(page: Page, slug: string): Promise<void> {
  if (new URL(page.url()).pathname !== '/chains') await page.goto('/chains');
  await page.getByTestId(`chain-card-${slug}`).locator('a').first().click();
  await page.waitForURL((url) => /^\/chains\/[0-9a-f-]{36}$/.test(url.pathname));
  await expect.poll(() => page.locator('.vue-flow__node').count(), { timeout: 15_000 }).toBeGreaterThan(0);
}

/** The classes of a node's wrapper on the canvas (sim-current, sim-visited, diff-…). */
const classesOf = (page: Page, id: string) => page.locator(`.vue-flow__node[data-id="${id}"]`).getAttribute('class').then((c) => (c ?? '').split(/\s+/));
const botMessages = (page: Page) => page.getByTestId('simulator-message-bot');

async function say(page: Page, text: string, botCount: number): Promise<void> {
  await page.getByTestId('simulator-input').fill(text);
  await page.getByTestId('simulator-input').press('Enter');
  await expect.poll(() => botMessages(page).count(), { timeout: 20_000 }).toBe(botCount);
}

describe('the simulator', () => {
  it('runs the greeting draft through both branches of its name condition, the canvas following the session', async () => {
    const { page } = tab;
    await openChain(page, 'greeting');
    await page.getByTestId('simulator-toggle').click();
    await expect.poll(() => page.getByTestId('simulator-panel').isVisible()).toBe(true);

    // Branch 1: the name given is the profile's name → reply_same.
    await page.getByTestId('simulator-first-name').locator('input').fill('Eve');
    await say(page, '/start', 1);
    expect(await botMessages(page).first().textContent()).toContain("What's your name?");
    await expect.poll(() => classesOf(page, 'ask_name')).toContain('sim-current');
    // The nodes passed on the way (name_known) come from the live run events.
    await expect.poll(() => classesOf(page, 'name_known'), { timeout: 10_000 }).toContain('sim-visited');
    await say(page, 'Eve', 2);
    expect(await botMessages(page).nth(1).textContent()).toBe('Nice to meet you, Eve!');
    await expect.poll(() => classesOf(page, 'reply_same')).toEqual(expect.arrayContaining([expect.stringMatching(/^sim-(current|visited)$/)]));
    expect(await classesOf(page, 'reply_new')).not.toEqual(expect.arrayContaining([expect.stringMatching(/^sim-/)]));
    // The session's variables, from its state and the live run events.
    await expect.poll(() => page.getByTestId('simulator-var-user.name').textContent(), { timeout: 10_000 }).toContain('Eve');
    await screenshot(page, 'simulator');

    // Restart: a new session with a fresh visitor (so user.name is unknown again).
    await page.getByTestId('simulator-restart').click();
    await expect.poll(() => botMessages(page).count()).toBe(0);
    expect(await classesOf(page, 'reply_same')).not.toEqual(expect.arrayContaining([expect.stringMatching(/^sim-/)]));

    // Branch 2: another name than the profile's → reply_new.
    await say(page, '/start', 1);
    await expect.poll(() => classesOf(page, 'ask_name')).toContain('sim-current');
    await say(page, 'Bob', 2);
    expect(await botMessages(page).nth(1).textContent()).toBe('Nice to meet you, Bob! I’ll call you that instead of Eve.');
    await expect.poll(() => classesOf(page, 'reply_new')).toEqual(expect.arrayContaining([expect.stringMatching(/^sim-(current|visited)$/)]));
    expect(await classesOf(page, 'reply_same')).not.toEqual(expect.arrayContaining([expect.stringMatching(/^sim-/)]));
    await page.getByTestId('simulator-toggle').click();
  });
});

describe('versions', () => {
  it('publishes a change with a note, diffs it against version 1 on the canvas and rolls back', async () => {
    const { page } = tab;
    await openChain(page, 'greeting');
    await page.getByTestId('node-welcome_back').locator('.title').click();
    await page.getByTestId('field-text').locator('textarea').fill('Welcome back, {{ user.name }}! Good to see you.');
    await expect.poll(() => page.getByTestId('save-state').getAttribute('data-state'), { timeout: 10_000 }).toBe('saved');

    await page.getByTestId('versions-toggle').click();
    await page.getByTestId('versions-note').locator('input').fill('A warmer welcome back');
    await page.getByTestId('versions-publish').click();
    await expect.poll(() => page.getByTestId('version-2').getAttribute('data-active')).toBe('true');
    expect(await page.getByTestId('version-2').textContent()).toContain('A warmer welcome back');
    expect(await page.getByTestId('version-1').getAttribute('data-active')).toBe('false');

    // v1 → v2 (the selects default to the newest version → the draft; pick v1 → v2).
    await pick(page, 'diff-from', 'v1');
    await pick(page, 'diff-to', 'v2');
    await page.getByTestId('diff-compare').click();
    await expect.poll(() => page.getByTestId('diff-banner').isVisible()).toBe(true);
    await expect.poll(() => classesOf(page, 'welcome_back')).toContain('diff-changed');
    expect(await classesOf(page, 'ask_name')).not.toContain('diff-changed');
    const fields = await page.getByTestId('diff-field').allTextContents();
    expect(fields.join('\n')).toContain('Good to see you.');
    expect(fields.join('\n')).toMatch(/data\.text|text/);
    await screenshot(page, 'versions-diff');

    await page.getByTestId('version-rollback-1').click();
    await expect.poll(() => page.getByTestId('version-1').getAttribute('data-active')).toBe('true');
    expect(await page.getByTestId('version-2').getAttribute('data-active')).toBe('false');
    await page.getByTestId('diff-close').click();
    await expect.poll(() => page.getByTestId('diff-banner').count()).toBe(0);
    expect(await classesOf(page, 'welcome_back')).not.toContain('diff-changed');
    await page.getByTestId('versions-toggle').click();
  });

  it('in Russian: the simulator and the diff', async () => {
    const ru = await open({ locale: 'ru-RU' });
    await signIn(ru.page);
    await openChain(ru.page, 'greeting');
    await ru.page.getByTestId('simulator-toggle').click();
    await say(ru.page, '/start', 1);
    expect(await botMessages(ru.page).first().textContent()).toContain('Как тебя зовут?');
    await expect.poll(() => classesOf(ru.page, 'ask_name')).toContain('sim-current');
    await screenshot(ru.page, 'simulator-ru');
    await ru.page.getByTestId('simulator-toggle').click();
    await ru.page.getByTestId('versions-toggle').click();
    await pick(ru.page, 'diff-from', 'v1');
    await pick(ru.page, 'diff-to', 'v2');
    await ru.page.getByTestId('diff-compare').click();
    await expect.poll(() => classesOf(ru.page, 'welcome_back')).toContain('diff-changed');
    await screenshot(ru.page, 'versions-diff-ru');
    await ru.context.close();
  });
});

describe('a 1,000-node chain', () => {
  it('opens with the nodes in view painted, and zoomed out shows placeholders', async () => {
    const { page } = tab;
    await page.goto(`/chains/${bigChainId}`);
    await expect.poll(() => page.locator('.vue-flow__node').count(), { timeout: 30_000 }).toBeGreaterThan(5);
    // Culled: only the nodes around the view are in the DOM, drawn as full cards at 100 %.
    expect(await page.locator('.vue-flow__node').count()).toBeLessThan(200);
    expect(await page.getByTestId('canvas').getAttribute('data-lite')).toBe('false');
    expect(await page.getByTestId('node-start').isVisible()).toBe(true);
    await page.getByTestId('fit-button').click();
    await expect.poll(() => page.getByTestId('canvas').getAttribute('data-lite'), { timeout: 30_000 }).toBe('true');
    await expect.poll(() => page.locator('[data-lite="true"].card').count(), { timeout: 30_000 }).toBeGreaterThan(100);
  });
});

async function pick(page: Page, testId: string, label: string): Promise<void> {
  await page.getByTestId(testId).click();
  await page.locator('.n-base-select-option:visible').getByText(label, { exact: true }).click();
  await expect.poll(() => page.getByTestId(testId).textContent()).toContain(label);
}
