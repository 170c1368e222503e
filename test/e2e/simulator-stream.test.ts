// The simulator shows an agent's answer growing while the model writes it (reply.partial
// over /api/v1/ws), then the bot's reply in its place. The loopback model releases each
// chunk once the page shows the text before it: no sleeps.

import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { importChain } from '../../api/services/chain-service.ts';
import { graphSchema } from '../../chain/index.ts';
import { agentChain, providerCredential } from '../agent/support.ts';
import { startOpenAiServer, type OpenAiServer } from '../effects/support/servers.ts';
import { eventually } from '../support/stack.ts';
import { startE2eApp, type E2eApp } from './support/app.ts';
import { launchBrowser, openPage, screenshot, screenshotOnFailure, type WatchedPage } from './support/browser.ts';

const PASSWORD = 'correct horse battery';
let app: E2eApp;
let browser: Browser;
let provider: OpenAiServer;
let tab: WatchedPage;
let chainId = '';

beforeAll(async () => {
  [app, browser, provider] = await Promise.all([startE2eApp('e2es', { live: true, httpAllow: ['127.0.0.1', '::1'] }), launchBrowser(), startOpenAiServer()]);
  await app.createAccount('sam@example.com', PASSWORD, 'admin', 'Sam');
  const credentialId = await providerCredential(app.h, provider.baseUrl, false);
  chainId = (await importChain(app.h.db.orm.em.fork(), graphSchema.parse({ ...agentChain({ credentialId }), slug: 'stream-agent' }))).chain.id;
});
afterAll(async () => {
  await browser?.close();
  await provider?.close();
  await app?.close();
});
afterEach(async ({ task }) => {
  await screenshotOnFailure(task, tab?.page);
  expect(tab?.problems.splice(0) ?? []).toEqual([]);
});

describe('the simulator and a streaming agent', () => {
  for (const language of ['en', 'ru'] as const) {
    it(`shows the answer growing, then the reply (${language})`, async () => {
      tab = await openPage(browser, app.url, { locale: language });
      const { page } = tab;
      await page.goto('/login');
      await page.locator('input[name="email"]').fill('sam@example.com');
      await page.locator('input[name="password"]').fill(PASSWORD);
      await page.locator('button[type="submit"]').click();
      await page.waitForURL((url) => url.pathname === '/chains');
      await page.goto(`/chains/${chainId}`);
      await expect.poll(() => page.locator('.vue-flow__node').count(), { timeout: 15_000 }).toBeGreaterThan(0);
      await page.getByTestId('simulator-toggle').click();

      const partial = page.getByTestId('simulator-message-partial');
      const pieces = language === 'en' ? ['The pizza ', 'is in ', 'the oven.'] : ['Пицца ', 'уже ', 'в печи.'];
      provider.script({
        kind: 'held',
        pieces,
        release: async (i) => {
          if (i === 0) return;
          const before = pieces.slice(0, i).join('').trim();
          await eventually(async () => ((await partial.count()) > 0 && (await partial.textContent())?.trim() === before ? true : undefined), `the bubble '${before}'`);
          if (i === 2) await screenshot(page, `simulator-streaming${language === 'ru' ? '-ru' : ''}`);
        },
      });
      await page.getByTestId('simulator-input').fill(language === 'en' ? 'Where is my pizza?' : 'Где моя пицца?');
      await page.getByTestId('simulator-input').press('Enter');
      await expect.poll(() => page.getByTestId('simulator-message-bot').last().textContent(), { timeout: 20_000 }).toBe(`AI: ${pieces.join('')}`);
      expect(await partial.count()).toBe(0);
      await page.close();
    });
  }
});
