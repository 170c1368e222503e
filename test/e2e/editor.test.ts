// The editor in a real browser against the real API, database and Temporal worker: an
// editor signs in and builds a chain from the palette, undoes and redoes, copies nodes
// between chains, imports and exports YAML, in English and Russian, light and dark.
// Any console error or missing translation fails the run. Screenshots go to docs/screenshots/.

import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { insertBase } from '../../db/knowledge.ts';
import { startE2eApp, type E2eApp } from './support/app.ts';
import { launchBrowser, openPage, screenshot, screenshotOnFailure, type WatchedPage } from './support/browser.ts';

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
afterEach(async ({ task }) => {
  await screenshotOnFailure(task, tab?.page);
  // Console errors and missing i18n keys anywhere fail the test that caused them.
  for (const p of pages) {
    const seen = p.problems.splice(0);
    p.expectedStatuses = [];
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
  await page.waitForURL((url) => url.pathname === '/chains');
}

const nodes = (page: Page) => page.locator('.vue-flow__node');
const edges = (page: Page) => page.locator('.vue-flow__edge');

async function expectCount(locator: ReturnType<Page['locator']>, n: number): Promise<void> {
  await expect.poll(() => locator.count(), { timeout: 10_000 }).toBe(n);
}

async function connect(page: Page, fromTestId: string, toTestId: string): Promise<void> {
  const before = await edges(page).count();
  await dragConnection(page, fromTestId, toTestId);
  await expectCount(edges(page), before + 1);
}

async function dragConnection(page: Page, fromTestId: string, toTestId: string): Promise<void> {
  const a = await page.getByTestId(fromTestId).boundingBox();
  const b = await page.getByTestId(toTestId).boundingBox();
  if (!a || !b) throw new Error(`cannot see ${a ? toTestId : fromTestId}`);
  await page.mouse.move(a.x + a.width / 2, a.y + a.height / 2);
  await page.mouse.down();
  await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2, { steps: 12 });
  await page.mouse.up();
}

async function tidy(page: Page): Promise<void> {
  await page.getByTestId('tidy-button').click();
  await page.getByTestId('fit-button').click();
  // the fit animation lasts 200 ms; wait until node boxes stop moving
  let last = '';
  await expect
    .poll(async () => {
      const now = JSON.stringify(await nodes(page).evaluateAll((els) => els.map((e) => e.getBoundingClientRect().x)));
      const same = now === last;
      last = now;
      return same;
    }, { interval: 150 })
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
    await tab.page.waitForURL((url) => url.pathname === '/login');
  });
});

let builtUrl = '';

describe('an editor', () => {
  it('signs in and is offered to create the first chain', async () => {
    await app.createAccount(EDITOR, PASSWORD, 'editor', 'Eve');
    const { page } = tab;
    await page.goto('/login');
    await screenshot(page, 'login');
    await signIn(page, EDITOR);
    await expect.poll(() => page.getByTestId('state-empty').isVisible()).toBe(true);
    await screenshot(page, 'chains-empty');
  });

  it('builds greeting → ask name → condition → two replies from the palette, fills the forms and publishes', async () => {
    const { page } = tab;
    await page.getByTestId('create-chain').click();
    await page.locator('input[name="chain-name"]').fill('Name greeter');
    await page.getByTestId('create-chain-submit').click();
    await page.waitForURL(/\/chains\/[0-9a-f-]{36}$/);
    builtUrl = new URL(page.url()).pathname;
    // A new chain starts with a start node and a greeting message.
    await expectCount(nodes(page), 2);
    await expectCount(edges(page), 1);

    // Click adds at the centre of the view; drag adds where dropped.
    await page.getByTestId('palette-item-ask').click();
    await expectCount(nodes(page), 3);
    const canvas = page.getByTestId('canvas');
    const box = (await canvas.boundingBox())!;
    await page.getByTestId('palette-item-condition').dragTo(canvas, { targetPosition: { x: box.width * 0.7, y: box.height * 0.2 } });
    await page.getByTestId('palette-item-message').dragTo(canvas, { targetPosition: { x: box.width * 0.2, y: box.height * 0.75 } });
    await page.getByTestId('palette-search').locator('input').fill('mess');
    await expectCount(page.locator('[data-testid^="palette-item-"]'), 1);
    await page.getByTestId('palette-item-message').dragTo(canvas, { targetPosition: { x: box.width * 0.6, y: box.height * 0.75 } });
    await page.getByTestId('palette-search').locator('input').fill('');
    await expectCount(nodes(page), 6);

    await tidy(page);
    await connect(page, 'port-hello-next', 'input-ask');
    await tidy(page);
    await connect(page, 'port-ask-next', 'input-condition');
    await tidy(page);
    await connect(page, 'port-condition-true', 'input-message');
    await tidy(page);
    await connect(page, 'port-condition-false', 'input-message_2');
    await tidy(page);

    // An edge into a start node is refused with a hint.
    await dragConnection(page, 'port-message-next', 'input-start');
    await expect.poll(() => page.getByText('nothing can lead into it').count()).toBeGreaterThan(0);
    await expectCount(edges(page), 5);

    // The generated forms.
    await selectNode(page, 'hello');
    await page.getByTestId('field-text').locator('textarea').fill('Hello! I am the greeter bot.');
    await selectNode(page, 'ask');
    await page.getByTestId('field-prompt').locator('textarea').fill("What's your name?");
    await page.getByTestId('field-variable').locator('input').fill('session.name');
    await page.getByTestId('node-label-input').locator('input').fill('Ask the name');
    await selectNode(page, 'condition');
    // The condition's rule through the rule builder (Editor II): the ask's variable is offered.
    const rule = page.getByTestId('rules-rules');
    await rule.getByTestId('rule-field').click();
    await page.locator('.n-base-select-option:visible', { hasText: 'session.name' }).first().click();
    await rule.getByTestId('rule-value').locator('input').fill('Ann');
    await selectNode(page, 'message');
    await page.getByTestId('field-text').locator('textarea').fill('Hi Ann, welcome back!');
    await selectNode(page, 'message_2');
    await page.getByTestId('field-text').locator('textarea').fill('Nice to meet you, {{ session.name }}!');
    await expect.poll(() => page.getByTestId('node-condition').innerText()).toContain('session.name equals Ann');
    await expect.poll(() => page.getByTestId('validation-summary').innerText()).toMatch(/No problems|warning/);
    await waitSaved(page);
    await screenshot(page, 'editor-built');

    await page.getByTestId('publish-button').click();
    await expect.poll(() => page.getByText('Published version 1').count()).toBeGreaterThan(0);

    // What the server stored is what was drawn.
    const stored = await app.h.db.orm.em.fork().getConnection().execute<{ draft_graph: { nodes: { id: string; label?: string; data: Record<string, unknown> }[]; edges: { source: string; sourcePort: string; target: string }[] } }[]>(
      `select draft_graph from chain where slug = 'name-greeter'`,
    );
    const graph = stored[0]!.draft_graph;
    expect(graph.edges.map((e) => `${e.source}.${e.sourcePort}→${e.target}`).sort()).toEqual(
      ['ask.next→condition', 'condition.false→message_2', 'condition.true→message', 'hello.next→ask', 'start.next→hello'].sort(),
    );
    const ask = graph.nodes.find((n) => n.id === 'ask')!;
    expect(ask).toMatchObject({ label: 'Ask the name', data: { prompt: "What's your name?", variable: 'session.name' } });
  });

  it('undoes and redoes that work, by button and by keyboard', async () => {
    const { page } = tab;
    await page.getByTestId('canvas').locator('.vue-flow__pane').click({ position: { x: 10, y: 10 } });
    const label = () => page.getByTestId('node-ask').locator('.title').innerText();
    const reply = () => page.getByTestId('node-message_2').innerText();
    expect(await label()).toBe('Ask the name');
    // Newest first: the two reply texts, the condition's value and field, then the ask's label.
    await page.keyboard.press('ControlOrMeta+Z');
    await expect.poll(reply).not.toContain('Nice to meet you');
    for (let i = 0; i < 4; i++) await page.keyboard.press('ControlOrMeta+Z');
    await expect.poll(label).toBe('Ask');
    // Then everything back to the new chain (start → greeting), one step per click.
    const undo = page.getByTestId('undo-button');
    for (let i = 0; i < 100 && (await undo.isEnabled()); i++) await undo.click();
    await expectCount(nodes(page), 2);
    await expectCount(edges(page), 1);
    await expect.poll(() => page.getByTestId('node-hello').innerText()).toContain('Hello, {{ user.first_name');
    await page.getByTestId('redo-button').click();
    await expectCount(nodes(page), 3);
    // And forward again to the built chain.
    const redo = page.getByTestId('redo-button');
    for (let i = 0; i < 100 && (await redo.isEnabled()); i++) await page.keyboard.press('ControlOrMeta+Shift+Z');
    await expectCount(nodes(page), 6);
    await expectCount(edges(page), 5);
    await expect.poll(label).toBe('Ask the name');
    await expect.poll(reply).toContain('Nice to meet you');
    await expect.poll(() => page.getByTestId('redo-button').isDisabled()).toBe(true);
    await waitSaved(page);
  });

  it('moves a node by dragging, as one undo step', async () => {
    const { page } = tab;
    const card = page.getByTestId('node-condition');
    const top = async () => (await card.boundingBox())!.y;
    const start = (await card.boundingBox())!;
    await page.mouse.move(start.x + 60, start.y + 12);
    await page.mouse.down();
    await page.mouse.move(start.x + 60, start.y + 132, { steps: 10 });
    await page.mouse.up();
    await expect.poll(top).toBeGreaterThan(start.y + 60);
    await page.getByTestId('undo-button').click();
    await expect.poll(async () => Math.round(await top())).toBe(Math.round(start.y));
    await page.getByTestId('redo-button').click();
    await expect.poll(top).toBeGreaterThan(start.y + 60);
    await waitSaved(page);
  });

  it('copies nodes through the clipboard into another chain', async () => {
    const { page } = tab;
    await selectNode(page, 'ask');
    await selectNode(page, 'condition', true);
    await page.keyboard.press('ControlOrMeta+C');
    await expect.poll(() => page.evaluate<string>('navigator.clipboard.readText()')).toContain('"chainflow": "nodes"');
    await page.goto('/chains');
    await page.getByTestId('create-chain').click();
    await page.locator('input[name="chain-name"]').fill('Second chain');
    await page.getByTestId('create-chain-submit').click();
    await page.waitForURL(/\/chains\/[0-9a-f-]{36}$/);
    await expectCount(nodes(page), 2);
    await page.getByTestId('canvas').locator('.vue-flow__pane').click({ position: { x: 10, y: 10 } });
    await page.keyboard.press('ControlOrMeta+V');
    await expectCount(nodes(page), 4);
    await expectCount(edges(page), 2);
    await expect.poll(() => page.getByTestId('node-ask').innerText()).toContain("What's your name?");

    // Jump to a node by text, delete it with the key, and get it back.
    await page.keyboard.press('ControlOrMeta+K');
    await page.getByTestId('jump-select').locator('input').fill('condition');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('settings-panel').innerText()).toContain('Condition');
    await page.keyboard.press('Delete');
    await expectCount(nodes(page), 3);
    await expectCount(edges(page), 1);
    await page.keyboard.press('ControlOrMeta+Z');
    await expectCount(nodes(page), 4);
    await expectCount(edges(page), 2);
    await waitSaved(page);
  });

  it('exports YAML and imports it back, showing a bad file’s errors by node and field', async () => {
    const { page } = tab;
    await page.goto(builtUrl);
    await expectCount(nodes(page), 6);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-button').click()]);
    const yaml = readFileSync((await download.path())!, 'utf8');
    const exported = parseYaml(yaml) as { slug: string; nodes: { id: string; data: Record<string, unknown> }[] };
    expect(exported.slug).toBe('name-greeter');
    expect(exported.nodes.map((n) => n.id)).toEqual(['start', 'hello', 'ask', 'condition', 'message', 'message_2']);

    await page.goto('/chains');
    await page.getByTestId('import-button').click();
    await page.getByText('Paste', { exact: true }).click();
    tab.expectedStatuses = [400];
    const broken = structuredClone(exported);
    delete broken.nodes[2]!.data.prompt;
    await page.getByTestId('import-text').locator('textarea').fill(stringifyYaml(broken));
    await page.getByTestId('import-submit').click();
    await expect.poll(() => page.getByTestId('import-errors').innerText()).toMatch(/Node ask[\s\S]*prompt/);
    await screenshot(page, 'import-errors');

    await page.getByTestId('import-text').locator('textarea').fill(yaml);
    await page.getByTestId('import-submit').click();
    await page.waitForURL(/\/chains\/[0-9a-f-]{36}$/);
    await expectCount(nodes(page), 6);
    await expect.poll(() => page.getByTestId('chain-name').innerText()).toBe('Name greeter');
    await page.goto('/chains');
    await expect.poll(() => page.getByTestId('chain-card-name-greeter-2').isVisible()).toBe(true);
  });
});

describe('the chain list', () => {
  it('searches, duplicates, shares and deletes chains', async () => {
    const { page } = tab;
    await page.goto('/chains');
    await page.getByTestId('chain-search').locator('input').fill('greeter');
    await expectCount(page.locator('[data-testid^="chain-card-"]'), 2);
    await page.getByTestId('chain-search').locator('input').fill('');
    const menu = async (slug: string, item: string) => {
      await page.getByTestId(`chain-actions-${slug}`).click();
      await page.locator('.n-dropdown-menu').getByText(item, { exact: true }).click();
      await expect.poll(() => page.locator('.n-dropdown-menu').count()).toBe(0);
    };
    await menu('name-greeter', 'Duplicate');
    await expect.poll(() => page.getByTestId('chain-card-name-greeter-copy').isVisible()).toBe(true);
    await expect.poll(() => page.getByTestId('chain-card-name-greeter-copy').innerText()).toContain('Name greeter (copy)');

    await menu('name-greeter', 'Share');
    await page.locator('input[name="share-email"]').fill(ADMIN);
    await page.getByRole('button', { name: 'Share', exact: true }).click();
    await expect.poll(() => page.locator('.n-list').innerText()).toContain(ADMIN);
    await screenshot(page, 'share');
    await page.keyboard.press('Escape');

    await menu('name-greeter-copy', 'Delete');
    await page.locator('.n-dialog').getByRole('button', { name: 'Delete' }).click();
    await expect.poll(() => page.getByTestId('chain-card-name-greeter-copy').count()).toBe(0);
  });
});

describe('two tabs editing one draft', () => {
  it('asks whether to reload theirs or overwrite with mine, and loses nothing silently', async () => {
    const mine = tab;
    const theirs = await open();
    await signIn(theirs.page, EDITOR);
    for (const t of [mine, theirs]) {
      t.expectedStatuses = [409];
      await t.page.goto(builtUrl);
      await expectCount(nodes(t.page), 6);
    }
    const setText = async (page: Page, id: string, text: string) => {
      await selectNode(page, id);
      await page.getByTestId('field-text').locator('textarea').fill(text);
    };
    await setText(theirs.page, 'hello', 'Changed in the other tab');
    await waitSaved(theirs.page);
    await setText(mine.page, 'message', 'Changed here');
    await expect.poll(() => mine.page.getByText('Someone else changed this chain').count()).toBeGreaterThan(0);
    await mine.page.getByRole('button', { name: 'Reload theirs' }).click();
    await expect.poll(() => mine.page.getByTestId('node-hello').innerText()).toContain('Changed in the other tab');
    await expect.poll(() => mine.page.getByTestId('node-message').innerText()).not.toContain('Changed here');

    await setText(mine.page, 'message', 'Mine after reloading');
    await waitSaved(mine.page);
    await setText(theirs.page, 'message_2', 'Theirs, written over');
    await expect.poll(() => theirs.page.getByText('Someone else changed this chain').count()).toBeGreaterThan(0);
    await theirs.page.getByRole('button', { name: 'Overwrite with mine' }).click();
    await waitSaved(theirs.page);
    const [row] = await app.h.db.orm.em.fork().getConnection().execute<{ draft_graph: { nodes: { id: string; data: { text?: string } }[] } }[]>(`select draft_graph from chain where slug = 'name-greeter'`);
    const text = (id: string) => row!.draft_graph.nodes.find((n) => n.id === id)?.data.text;
    expect(text('message_2')).toBe('Theirs, written over');
    expect(text('hello')).toBe('Changed in the other tab');
    await theirs.context.close();
  });
});

/** The knowledge node's base picker: lists the bases the user can open, by name; the choice is the node's baseId (in both languages). */
async function pickKnowledgeBase(page: Page, baseId: string): Promise<void> {
  const picker = page.getByTestId('knowledge-base-picker');
  await expect.poll(() => picker.count()).toBe(1);
  await picker.click();
  const options = page.locator('.n-base-select-option');
  await expect.poll(() => options.allInnerTexts()).toEqual(['Price list · 0 documents, 0 chunks']);
  await options.first().click();
  await expect.poll(() => picker.innerText()).toContain('Price list');
  const saved = async () => {
    const [row] = await app.h.db.orm.em.fork().getConnection().execute<{ draft_graph: { nodes: { type: string; data: { baseId?: string } }[] } }[]>(`select draft_graph from chain where name = 'Every node'`);
    return row?.draft_graph.nodes.find((n) => n.type === 'knowledge')?.data.baseId;
  };
  await expect.poll(saved, { timeout: 10_000 }).toBe(baseId);
  await screenshot(page, 'form-knowledge');
  await page.getByTestId('language-switch').click();
  await expect.poll(() => page.locator('html').getAttribute('lang')).toBe('ru');
  await expect.poll(() => picker.innerText()).toContain('документов: 0');
  await screenshot(page, 'form-knowledge-ru');
  await page.getByTestId('language-switch').click();
  await expect.poll(() => page.locator('html').getAttribute('lang')).toBe('en');
}

describe('generated forms', () => {
  it('give every node type of the palette a settings form', async () => {
    const { page } = tab;
    await page.goto('/chains');
    await page.getByTestId('create-chain').click();
    await page.locator('input[name="chain-name"]').fill('Every node');
    await page.getByTestId('create-chain-submit').click();
    await page.waitForURL(/\/chains\/[0-9a-f-]{36}$/);
    await expectCount(nodes(page), 2);
    // A base the editor owns and one they cannot open: the picker offers only the first.
    const em = app.h.db.orm.em.fork();
    const [eve] = await em.getConnection().execute<{ id: string }[]>(`select id from app_user where email = ?`, [EDITOR]);
    const baseId = (await insertBase(em, { name: 'Price list', description: '', credential_id: null, model: 'none', owner_id: eve!.id })).id;
    await insertBase(em, { name: 'Admin only', description: '', credential_id: null, model: 'none', owner_id: null });
    const types = await page.locator('[data-testid^="palette-item-"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-testid')!.slice('palette-item-'.length)));
    expect(types.length).toBeGreaterThanOrEqual(14);
    for (const type of types) {
      await page.getByTestId(`palette-item-${type}`).click();
      const card = page.locator(`[data-node-type="${type}"]`).last();
      await expect.poll(() => card.count()).toBeGreaterThan(0);
      // The new node is selected: its form is in the panel, with at least one field for types that have settings.
      const fields = page.getByTestId('settings-panel').locator('[data-testid^="field-"]:not([data-testid="field-"])');
      if (type === 'end') await expect.poll(() => page.getByTestId('settings-panel').innerText()).toContain('End');
      else await expect.poll(() => fields.count()).toBeGreaterThan(0);
      if (type === 'http') await screenshot(page, 'form-http');
      if (type === 'knowledge') await pickKnowledgeBase(page, baseId);
    }
    await expectCount(nodes(page), 2 + types.length);

    // With nothing selected the panel edits the chain itself.
    await page.keyboard.press('Escape');
    await page.getByTestId('canvas').locator('.vue-flow__pane').click({ position: { x: 5, y: 5 } });
    await page.getByTestId('chain-name-input').locator('input').fill('Every node type');
    await waitSaved(page);
    await expect.poll(() => page.getByTestId('chain-name').innerText()).toBe('Every node type');
  });
});

describe('sessions', () => {
  it('refreshes the access token, and returns to sign-in (keeping the place) when the session is revoked', async () => {
    const { page } = tab;
    await page.goto(builtUrl);
    await expectCount(nodes(page), 6);
    // A reload keeps the session: the refresh token survives, a new access token is fetched.
    await page.reload();
    await expectCount(nodes(page), 6);
    tab.expectedStatuses = [401];
    await app.signOutEverywhere(EDITOR);
    await page.getByRole('link', { name: 'Chains', exact: true }).click();
    await page.waitForURL(/\/login\?redirect=(%2F|\/)chains$/);
    await expect.poll(() => page.getByText('Your session has ended; please sign in again.').count()).toBeGreaterThan(0);
    await page.locator('input[name="email"]').fill(EDITOR);
    await page.locator('input[name="password"]').fill(PASSWORD);
    await page.locator('button[type="submit"]').click();
    await page.waitForURL((url) => url.pathname === '/chains');
  });
});

describe('in Russian with the dark theme', () => {
  it('shows every screen without a missing text', async () => {
    const { page } = tab;

    await page.goto('/chains');
    await page.getByTestId('language-switch').click();
    await page.getByTestId('theme-switch').click();
    await expect.poll(() => page.locator('html').getAttribute('lang')).toBe('ru');
    await expect.poll(() => page.locator('html').getAttribute('data-theme')).toBe('dark');
    await expect.poll(() => page.getByText('Новая цепочка').count()).toBeGreaterThan(0);
    await screenshot(page, 'chains-ru-dark');
    await page.getByTestId('import-button').click();
    await expect.poll(() => page.getByText('Импорт цепочки').count()).toBeGreaterThan(0);
    await page.keyboard.press('Escape');
    await page.goto(builtUrl);
    await expectCount(nodes(page), 6);
    await selectNode(page, 'ask');
    await expect.poll(() => page.getByTestId('settings-panel').innerText()).toContain('Вопрос');
    await screenshot(page, 'editor-ru-dark');
    await page.getByTestId('shortcuts-button').click();
    await expect.poll(() => page.getByTestId('shortcuts-help').isVisible()).toBe(true);
    await screenshot(page, 'shortcuts-ru-dark');
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByTestId('shortcuts-help').count()).toBe(0);
    await page.goto('/status');
    await expect.poll(() => page.getByTestId('status-postgres').innerText()).toContain('Готово');
    await page.goto('/no-such-page');
    await expect.poll(() => page.getByText('Такой страницы нет.').count()).toBeGreaterThan(0);
    await page.getByTestId('language-switch').isVisible();
    await page.goto('/chains');
    await page.getByTestId('sign-out').click();
    await page.waitForURL((url) => url.pathname === '/login');
    await expect.poll(() => page.getByText('С возвращением в Chainflow.').count()).toBeGreaterThan(0);
    await screenshot(page, 'login-ru-dark');
  });

  it('follows the browser’s language and colour scheme until chosen', async () => {
    const fresh = await open({ locale: 'ru-RU', colorScheme: 'dark' });
    const { page } = fresh;
    await page.goto('/login');
    await expect.poll(() => page.locator('html').getAttribute('lang')).toBe('ru');
    await expect.poll(() => page.locator('html').getAttribute('data-theme')).toBe('dark');
    await expect.poll(() => page.getByText('Вход', { exact: true }).count()).toBeGreaterThan(0);
    await page.getByText('Есть код приглашения?').click();
    await page.waitForURL((url) => url.pathname === '/register');
    await expect.poll(() => page.getByText('Код приглашения').count()).toBeGreaterThan(0);
    await page.goto('/setup');
    await expect.poll(() => page.getByText('Эта установка уже настроена.').count()).toBeGreaterThan(0);
    await page.getByTestId('language-switch').click();
    await expect.poll(() => page.getByText('This installation is already set up.').count()).toBeGreaterThan(0);
    await fresh.context.close();
  });
});
