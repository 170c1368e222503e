// The agent node's tools form in a real browser against the real API: an agent with an
// HTTP tool (a declared integer parameter, a templated URL, operator approval) is built
// from the palette and published; the stored draft holds the tool as drawn. Screenshots:
// docs/screenshots/agent-tools.png and agent-tools-ru.png.

import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCredential } from '../../db/credential-store.ts';
import { UserSchema } from '../../db/accounts.ts';
import { startE2eApp, type E2eApp } from './support/app.ts';
import { launchBrowser, openPage, screenshot, type WatchedPage } from './support/browser.ts';

const PASSWORD = 'correct horse battery';
const EDITOR = 'ada@example.com';

let app: E2eApp;
let browser: Browser;
const pages: WatchedPage[] = [];
let credentialId: string;

beforeAll(async () => {
  [app, browser] = await Promise.all([startE2eApp('e2e-agent'), launchBrowser()]);
  await app.createAccount('root@example.com', PASSWORD, 'admin', 'Root');
  await app.createAccount(EDITOR, PASSWORD, 'editor', 'Ada');
  const editor = await app.h.db.orm.em.fork().findOneOrFail(UserSchema, { email: EDITOR });
  credentialId = (await createCredential(app.h.db.orm.em.fork(), app.h.secretBox, { name: 'local_vllm', kind: 'openai', value: 'sk-e2e-agent-key', meta: { baseUrl: 'http://127.0.0.1:8000/v1' }, ownerId: editor.id })).id;
});
afterAll(async () => {
  await browser?.close();
  await app?.close();
});
afterEach(() => {
  // Console errors and missing i18n keys fail the test that caused them.
  const seen = pages.flatMap((p) => p.problems.splice(0));
  expect(seen).toEqual([]);
});

async function open(opts: Parameters<typeof openPage>[2] = {}): Promise<WatchedPage> {
  const page = await openPage(browser, app.url, opts);
  pages.push(page);
  return page;
}

async function signIn(page: Page): Promise<void> {
  await page.goto('/login');
  await page.locator('input[name="email"]').fill(EDITOR);
  await page.locator('input[name="password"]').fill(PASSWORD);
  await page.locator('button[type="submit"]').click();
  await page.waitForURL((url) => url.pathname === '/chains');
}

async function pickOption(page: Page, select: ReturnType<Page['getByTestId']>, text: string): Promise<void> {
  await select.click();
  await page.locator('.n-base-select-option:visible', { hasText: text }).first().click();
}

const nodes = (page: Page) => page.locator('.vue-flow__node');
const edges = (page: Page) => page.locator('.vue-flow__edge');

async function connect(page: Page, from: string, to: string): Promise<void> {
  const before = await edges(page).count();
  const a = (await page.getByTestId(from).boundingBox())!;
  const b = (await page.getByTestId(to).boundingBox())!;
  await page.mouse.move(a.x + a.width / 2, a.y + a.height / 2);
  await page.mouse.down();
  await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2, { steps: 12 });
  await page.mouse.up();
  await expect.poll(() => edges(page).count()).toBe(before + 1);
}
const waitSaved = (page: Page) => expect.poll(() => page.getByTestId('save-state').getAttribute('data-state'), { timeout: 10_000 }).toBe('saved');

async function storedAgent(): Promise<Record<string, unknown> | undefined> {
  const rows = await app.h.db.orm.em.fork().getConnection().execute<{ draft_graph: { nodes: { type: string; data: Record<string, unknown> }[] } }[]>(`select draft_graph from chain where slug = 'agent-tools'`);
  return rows[0]?.draft_graph.nodes.find((n) => n.type === 'agent')?.data;
}

describe('the agent tools form', () => {
  let chainPath = '';

  it('builds an agent with an HTTP tool and publishes it', async () => {
    const { page } = await open();
    await signIn(page);
    await page.getByTestId('create-chain').click();
    await page.locator('input[name="chain-name"]').fill('Agent tools');
    await page.getByTestId('create-chain-submit').click();
    await page.waitForURL(/\/chains\/[0-9a-f-]{36}$/);
    chainPath = new URL(page.url()).pathname;
    await expect.poll(() => nodes(page).count(), { timeout: 20_000 }).toBe(2);
    await page.getByTestId('palette-item-agent').click();
    await expect.poll(() => nodes(page).count()).toBe(3);
    await connect(page, 'port-hello-next', 'input-agent');
    await page.getByTestId('node-agent').locator('.title').click();

    await page.getByTestId('field-credentialId').locator('input').fill(credentialId);
    const tools = page.getByTestId('agent-tools');
    await expect.poll(() => tools.innerText()).toContain('No tools yet');
    await page.getByTestId('agent-tool-add').click();
    await page.getByTestId('agent-tool-add-http').click();
    const tool = page.getByTestId('agent-tool-0');
    await tool.getByTestId('agent-tool-0-name').locator('input').fill('order_status');
    await tool.getByTestId('agent-tool-0-description').locator('textarea').fill('Looks up an order by its number');
    await pickOption(page, tool.getByTestId('agent-tool-0-approval'), 'An operator approves');
    await tool.getByTestId('agent-tool-0-param-add').click();
    const name = tool.getByTestId('agent-tool-0-param-0-name').locator('input');
    await name.fill('id');
    await pickOption(page, tool.getByTestId('agent-tool-0-param-0-type'), 'integer');
    await tool.getByTestId('template-tools.0.request.url').locator('textarea').fill('https://shop.example.com/orders/{{ args.id }}');
    await waitSaved(page);
    await expect.poll(async () => (await storedAgent())?.tools).toEqual([
      expect.objectContaining({
        kind: 'http',
        name: 'order_status',
        description: 'Looks up an order by its number',
        needsApproval: 'operator',
        parameters: { type: 'object', properties: { id: { type: 'integer' } }, required: ['id'], additionalProperties: false },
        request: expect.objectContaining({ method: 'GET', url: 'https://shop.example.com/orders/{{ args.id }}' }),
      }),
    ]);
    await expect.poll(() => page.getByTestId('validation-summary').innerText()).toMatch(/No problems/);
    await tools.scrollIntoViewIfNeeded();
    await screenshot(page, 'agent-tools');

    await page.getByTestId('publish-button').click();
    await expect.poll(() => page.getByText('Published version 1').count()).toBeGreaterThan(0);

    // A second tool of another kind, then removed again: the list is edited in place.
    await page.getByTestId('agent-tool-add').click();
    await page.getByTestId('agent-tool-add-ask_user').click();
    await expect.poll(async () => ((await storedAgent())?.tools as Array<{ kind: string }> | undefined)?.map((t) => t.kind)).toEqual(['http', 'ask_user']);
    await waitSaved(page);
    await page.getByTestId('agent-tool-1-remove').click();
    await expect.poll(() => page.getByTestId('agent-tool-1').count()).toBe(0);
    await waitSaved(page);
    await expect.poll(async () => ((await storedAgent())?.tools as Array<{ kind: string }> | undefined)?.map((t) => t.kind)).toEqual(['http']);
  });

  it('shows the form in Russian', async () => {
    const { page } = await open({ locale: 'ru-RU' });
    await signIn(page);
    await page.goto(chainPath);
    await expect.poll(() => nodes(page).count(), { timeout: 20_000 }).toBe(3);
    await page.getByTestId('node-agent').locator('.title').click();
    const tools = page.getByTestId('agent-tools');
    await expect.poll(() => tools.innerText()).toContain('Подтверждает оператор (API)');
    await expect.poll(() => tools.innerText()).toContain('Параметры, которые заполняет модель');
    await tools.scrollIntoViewIfNeeded();
    await screenshot(page, 'agent-tools-ru');
  });
});
