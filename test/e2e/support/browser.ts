// Debian's Chromium driven by playwright-core. Every page fails the test on a console
// error, an uncaught exception or a missing i18n key (logged as an error by the app).

import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];
export const SCREENSHOTS = join(import.meta.dirname, '..', '..', '..', 'docs', 'screenshots');

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
}

export interface WatchedPage {
  page: Page;
  context: BrowserContext;
  /** Console errors, page errors and missing translations seen so far. */
  problems: string[];
  /**
   * HTTP statuses the test provokes on purpose (a bad import is a 400); the browser logs
   * each failed request as a console error, which is a problem only when unexpected.
   */
  expectedStatuses: number[];
}

export async function openPage(browser: Browser, baseURL: string, opts: { locale?: string; colorScheme?: 'light' | 'dark' } = {}): Promise<WatchedPage> {
  const context = await browser.newContext({
    baseURL,
    viewport: { width: 1440, height: 900 },
    locale: opts.locale ?? 'en-US',
    colorScheme: opts.colorScheme ?? 'light',
    deviceScaleFactor: 1,
  });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: baseURL });
  // No CSS transitions or animations: screenshots show the settled screen, not a fade.
  await context.addInitScript({
    content: `document.addEventListener('DOMContentLoaded', () => {
      const style = document.createElement('style');
      style.textContent = '*, *::before, *::after { transition: none !important; animation-duration: 0s !important; animation-delay: 0s !important; }';
      document.head.append(style);
    });`,
  });
  const page = await context.newPage();
  const problems: string[] = [];
  const watched: WatchedPage = { page, context, problems, expectedStatuses: [] };
  page.on('console', (message) => {
    const status = /Failed to load resource: the server responded with a status of (\d+)/.exec(message.text())?.[1];
    if (status && watched.expectedStatuses.includes(Number(status))) return;
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
    if (/missing key|Not found '.*' key/i.test(message.text())) problems.push(`i18n: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  return watched;
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.mouse.move(1, 1); // no hover tooltips in the picture
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
}

/** What the browser showed when a test failed, saved for the CI log (its path printed). */
export async function screenshotOnFailure(task: { name: string; result?: { state?: string } }, page: Page | undefined): Promise<void> {
  if (task.result?.state !== 'fail') return;
  const path = join(tmpdir(), `chainflow-e2e-failure-${task.name.replace(/\W+/g, '-').slice(0, 60)}.png`);
  await page?.screenshot({ path }).catch(() => undefined);
  console.error(`screenshot of the failure: ${path} (at ${page?.url()})`);
}
