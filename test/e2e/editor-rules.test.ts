// Editor II in a real browser against the real API, database and Temporal worker: the
// greeting's name condition is built with the rule builder, the chain gets a Russian translation through the language tabs, and a code
// node runs with a sample input on the worker's sandbox. Screenshot: docs/screenshots/editor-rules.png.

import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startE2eApp, type E2eApp } from './support/app.ts';
import { launchBrowser, openPage, screenshot, type WatchedPage } from './support/browser.ts';

const PASSWORD = 'correct horse battery';
const EDITOR = 'rita@example.com';

let app: E2eApp;
let browser: Browser;
let tab: WatchedPage;

beforeAll(async () => {
  [app, browser] = await Promise.all([startE2eApp('e2e-rules'), launchBrowser()]);
  tab = await openPage(browser, app.url);
  // With no admin yet the app opens on the first-run setup page.
  await app.createAccount('root@example.com', PASSWORD, 'admin', 'Root');
  await app.createAccount(EDITOR, PASSWORD, 'editor', 'Rita');
});
afterAll(async () => {
  await browser?.close();
  await app?.close();
});
afterEach(() => {
  // Console errors and missing i18n keys fail the test that caused them.
  const seen = tab.problems.splice(0);
  expect(seen).toEqual([]);
});

const nodes = (page: Page) => page.locator('.vue-flow__node');
const edges = (page: Page) => page.locator('.vue-flow__edge');
const selectNode = (page: Page, id: string) => page.getByTestId(`node-${id}`).locator('.title').click();
const waitSaved = (page: Page) => expect.poll(() => page.getByTestId('save-state').getAttribute('data-state'), { timeout: 10_000 }).toBe('saved');

async function storedGraph(): Promise<{ languages?: string[]; variables: { name: string; type: string }[]; nodes: { id: string; type: string; data: Record<string, unknown> }[]; edges: { id: string; source: string; target: string; priority?: number; rules?: unknown }[] }> {
  const rows = await app.h.db.orm.em.fork().getConnection().execute<{ draft_graph: Awaited<ReturnType<typeof storedGraph>> }[]>(`select draft_graph from chain where slug = 'greeter-rules'`);
  return rows[0]!.draft_graph;
}

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

async function pickOption(page: Page, select: ReturnType<Page['getByTestId']>, text: string): Promise<void> {
  await select.click();
  await page.locator('.n-base-select-option:visible', { hasText: text }).first().click();
}

describe('Editor II: rules, variables, texts per language, code', () => {
  it('builds the name condition with the rule builder', async () => {
    const { page } = tab;
    await page.goto('/login');
    await page.locator('input[name="email"]').fill(EDITOR);
    await page.locator('input[name="password"]').fill(PASSWORD);
    await page.locator('button[type="submit"]').click();
    await page.waitForURL((url) => url.pathname === '/chains');
    await page.getByTestId('create-chain').click();
    await page.locator('input[name="chain-name"]').fill('Greeter rules');
    await page.getByTestId('create-chain-submit').click();
    await page.waitForURL(/\/chains\/[0-9a-f-]{36}$/);
    await expect.poll(() => nodes(page).count(), { timeout: 20_000 }).toBe(2);

    // A declared variable shows up in the rule builder's field picker with its type.
    await page.getByTestId('variable-add').click();
    await page.getByTestId('variable-name').locator('input').fill('name');
    await expect.poll(async () => (await storedGraph()).variables).toEqual([{ name: 'session.name', type: 'string' }]);

    await page.getByTestId('palette-item-ask').click();
    await page.getByTestId('palette-item-condition').click();
    await expect.poll(() => nodes(page).count()).toBe(4);
    await page.getByTestId('tidy-button').click();
    await page.getByTestId('fit-button').click();
    await selectNode(page, 'ask');
    await page.getByTestId('field-variable').locator('input').fill('session.name');
    await connect(page, 'port-hello-next', 'input-ask');
    await connect(page, 'port-ask-next', 'input-condition');

    // The condition: session.name is one of Ann, Anna — OR — a nested group.
    await selectNode(page, 'condition');
    const builder = page.getByTestId('rules-rules');
    await expect.poll(() => builder.getByTestId('rule-row').count()).toBe(1);
    await pickOption(page, builder.getByTestId('rule-field'), 'session.name · string');
    await pickOption(page, builder.getByTestId('rule-operator'), 'is one of');
    const tags = builder.getByTestId('rule-value-list');
    // The node's default value ('yes') is kept as the list's first item: remove it.
    await expect.poll(() => tags.locator('.n-tag').count()).toBe(1);
    await tags.locator('.n-tag__close').first().click();
    await expect.poll(() => tags.locator('.n-tag').count()).toBe(0);
    for (const name of ['Ann', 'Anna']) {
      await tags.locator('button').last().click();
      await tags.locator('input').fill(name);
      await tags.locator('input').press('Enter');
    }
    await builder.getByTestId('rule-add').click();
    await expect.poll(() => builder.getByTestId('rule-row').count()).toBe(2);
    await builder.getByTestId('rule-condition-or').click();
    await pickOption(page, builder.getByTestId('rule-operator').nth(1), 'starts with');
    await builder.getByTestId('rule-value').nth(0).locator('input').fill('/ann');
    // Every operator of the chain language is offered for a text field.
    await builder.getByTestId('rule-operator').nth(1).click();
    await expect.poll(() => page.locator('.n-base-select-option:visible').count()).toBe(16);
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByTestId('node-condition').innerText()).toContain('session.name in Ann, Anna OR message.text starts with /ann');
    await screenshot(page, 'editor-rules');

    await waitSaved(page);

    const graph = await storedGraph();
    const condition = graph.nodes.find((n) => n.id === 'condition')!;
    expect(condition.data.rules).toEqual({
      condition: 'OR',
      rules: [
        { field: 'session.name', operator: 'in', value: ['Ann', 'Anna'] },
        { field: 'message.text', operator: 'starts_with', value: '/ann' },
      ],
    });
  });

  it('selects an edge on the canvas and gives it a priority, shown on its label', async () => {
    const { page } = tab;
    await page.keyboard.press('Escape');
    // Click the middle of the first edge's drawn path (an edge's box centre may miss a bent path).
    const path = page.locator('.vue-flow__edge').first().locator('path.vue-flow__edge-path');
    const point = await path.evaluate((el) => {
      // An SVG path (the test's tsconfig has no DOM types).
      const p = el as unknown as { getTotalLength(): number; getPointAtLength(at: number): { x: number; y: number }; getScreenCTM(): { a: number; b: number; c: number; d: number; e: number; f: number } | null };
      const at = p.getPointAtLength(p.getTotalLength() / 2);
      const m = p.getScreenCTM()!;
      return { x: at.x * m.a + at.y * m.c + m.e, y: at.x * m.b + at.y * m.d + m.f };
    });
    await page.mouse.click(point.x, point.y);
    await expect.poll(() => page.getByTestId('edge-settings').count()).toBe(1);
    const edgeId = await page.locator('.vue-flow__edge.selected').first().getAttribute('data-id');
    await page.getByTestId('edge-priority').locator('input').fill('2');
    await page.getByTestId('edge-priority').locator('input').blur();
    await waitSaved(page);
    await expect.poll(async () => (await storedGraph()).edges.find((e) => e.id === edgeId)?.priority).toBe(2);
    await expect.poll(() => page.locator('.vue-flow__edge.selected').first().textContent()).toContain('#2');
  });

  it('flags unknown variables in a template and completes {{ }} from the chain’s variables', async () => {
    const { page } = tab;
    await selectNode(page, 'hello');
    const text = page.getByTestId('template-text').getByTestId('template-textarea');
    await text.fill('Hi {{ session.nmae }}');
    await expect.poll(() => page.getByTestId('template-text').getByTestId('template-problems').innerText(), { timeout: 10_000 }).toContain("unknown variable 'session.nmae'");
    await text.fill('Hi ');
    await text.press('End');
    await text.pressSequentially('{{ session.na');
    await page.getByTestId('template-suggestion').filter({ hasText: 'session.name' }).first().click();
    await expect.poll(() => text.inputValue()).toBe('Hi {{ session.name }}');
    await expect.poll(() => page.getByTestId('template-text').getByTestId('template-problems').count()).toBe(0);
  });

  it('adds Russian and translates the greeting in its language tab, the default text as the hint', async () => {
    const { page } = tab;
    await page.getByTestId('canvas').click({ position: { x: 10, y: 10 } });
    const languages = page.getByTestId('languages-input');
    await languages.locator('button').last().click();
    await languages.locator('input').fill('ru');
    await languages.locator('input').press('Enter');
    // The greeting and the question are not translated yet.
    await expect.poll(() => page.getByTestId('missing-translations').getAttribute('data-count')).toBe('2');

    await selectNode(page, 'hello');
    await page.getByTestId('language-tab-ru').click();
    await expect.poll(() => page.getByTestId('translation-hint').innerText()).toContain('Hi {{ session.name }}');
    await page.getByTestId('translation-ru-text').getByTestId('template-textarea').fill('Привет, {{ session.name }}!');
    await page.getByTestId('canvas').click({ position: { x: 10, y: 10 } });
    await expect.poll(() => page.getByTestId('missing-translations').getAttribute('data-count')).toBe('1');
    await waitSaved(page);
    const graph = await storedGraph();
    expect(graph.languages).toEqual(['ru']);
    expect(graph.nodes.find((n) => n.id === 'hello')!.data.variants).toEqual({ ru: { text: 'Привет, {{ session.name }}!' } });
  });

  it('edits a code node in CodeMirror, lints it, and runs it with a sample input on the sandbox', async () => {
    const { page } = tab;
    await page.getByTestId('palette-item-code').click();
    await expect.poll(() => nodes(page).count()).toBe(5);
    await selectNode(page, 'code');
    const editor = page.getByTestId('code-editor');
    await expect.poll(() => editor.locator('.cm-content').innerText()).toContain('function main(message, variables)');
    // A syntax error is linted as you type; undoing it clears the lint.
    await editor.locator('.cm-content').click();
    await page.keyboard.press('ControlOrMeta+End');
    await page.keyboard.type('}}(');
    await expect.poll(() => editor.getByTestId('code-problems').innerText()).toContain('Syntax error');
    await page.keyboard.press('Backspace');
    await page.keyboard.press('Backspace');
    await page.keyboard.press('Backspace');
    await expect.poll(() => editor.getByTestId('code-problems').count()).toBe(0);

    await editor.getByTestId('code-sample-message').locator('textarea').fill('{ "text": "Привет" }');
    await editor.getByTestId('code-run').click();
    await expect.poll(() => editor.getByTestId('code-run-result').getAttribute('data-ok'), { timeout: 15_000 }).toBe('true');
    expect(await editor.getByTestId('code-run-result').innerText()).toContain('"length": 6');
  });
});
