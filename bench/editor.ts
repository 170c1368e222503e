// `npm run bench:editor`: how fast the editor opens and pans a big chain in headless
// Chromium, on its own stack (PostgreSQL, Temporal, the API serving a production build).
//
//   npm run bench:editor -- [--nodes 1000] [--rounds 3] [--profile]
//
// Prints, per round: open (navigation to the chain → its nodes painted), pan (a mouse drag
// across the canvas → the frame after it is painted), zoom to fit (the whole chain as
// placeholders) and a pan there, a pan at 100 % after a jump to a node far away, and the longest main-thread tasks seen; --profile adds the functions that
// took the most main-thread time in round 1 (Chromium's CPU profiler). Figures only.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium, type Page } from 'playwright-core';
import { build } from 'vite';
import { createApp } from '../api/app.ts';
import { resolveAuthOptions } from '../api/auth/options.ts';
import { createUser } from '../api/auth/service.ts';
import { importChain } from '../api/services/chain-service.ts';
import { startLocalStack } from '../cli/local-stack.ts';
import { createLogger } from '../lib/logger.ts';
import { generateChain } from './generate.ts';

// Browser globals used inside page.evaluate (this project is type-checked without the DOM lib).
interface BrowserElement {
  getAttribute(name: string): string | null;
  getBoundingClientRect(): { x: number; y: number; width: number; height: number };
  classList: { contains(name: string): boolean };
  className: string;
}
declare const document: { querySelector(selector: string): BrowserElement | null; elementFromPoint(x: number, y: number): BrowserElement | null };
declare const window: { longTasks: number[] };
declare function requestAnimationFrame(callback: () => void): number;
type LongTaskObserver = new (callback: (list: { getEntries(): { duration: number }[] }) => void) => { observe(options: { type: string; buffered: boolean }): void };

const root = fileURLToPath(new URL('..', import.meta.url));
const { values: flags } = parseArgs({ args: process.argv.slice(2), options: { nodes: { type: 'string', default: '1000' }, rounds: { type: 'string', default: '3' }, profile: { type: 'boolean', default: false } } });
const PROFILE = flags.profile;
const NODES = Number(flags.nodes);
const ROUNDS = Number(flags.rounds);
const say = (line: string) => process.stdout.write(`${line}\n`);
const EMAIL = 'bench@example.com';
const PASSWORD = 'bench password 123';

/** Resolves once the view's transform stayed the same over two frames (a fit or jump animation is over). */
const settled = (page: Page) =>
  page.evaluate(
    () =>
      new Promise<void>((resolve) => {
        const pane = document.querySelector('.vue-flow__transformationpane');
        let last = '';
        const tick = () => {
          const now = pane?.getAttribute('style') ?? '';
          if (now === last) resolve();
          else {
            last = now;
            setTimeout(() => requestAnimationFrame(tick), 100);
          }
        };
        tick();
      }),
  );

/** Resolves after the next two animation frames: what was scheduled is painted. */
const painted = (page: Page) => page.evaluate(() => new Promise<void>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r()))));

/** A point of the canvas with no node, edge or control on it (where a drag pans). */
async function emptySpot(page: Page): Promise<{ x: number; y: number }> {
  const spot = await page.evaluate(() => {
    const rect = document.querySelector('[data-testid="canvas"]')?.getBoundingClientRect();
    if (!rect) return null;
    for (let fy = 0.05; fy < 0.95; fy += 0.03)
      for (let fx = 0.05; fx < 0.95; fx += 0.03) {
        const x = rect.x + rect.width * fx;
        const y = rect.y + rect.height * fy;
        if (document.elementFromPoint(x, y)?.classList.contains('vue-flow__pane')) return { x, y };
      }
    return null;
  });
  if (!spot) {
    await page.screenshot({ path: join(tmpdir(), 'chainflow-bench-editor.png') });
    const at = await page.evaluate(() => {
      const r = document.querySelector('[data-testid="canvas"]')?.getBoundingClientRect();
      return r ? document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2)?.className : 'no canvas';
    });
    throw new Error(`no empty spot on the canvas to drag (the centre is ${String(at)}); screenshot in ${tmpdir()}/chainflow-bench-editor.png`);
  }
  return spot;
}

async function pan(page: Page): Promise<number> {
  const { x, y } = await emptySpot(page);
  const before = await page.locator('.vue-flow__transformationpane').getAttribute('style');
  const t0 = performance.now();
  await page.mouse.move(x, y);
  await page.mouse.down();
  await page.mouse.move(x - 300, y + 200, { steps: 10 });
  await page.mouse.up();
  await painted(page);
  const took = performance.now() - t0;
  const after = await page.locator('.vue-flow__transformationpane').getAttribute('style');
  if (before === after) throw new Error('the pan did not move the view');
  return took;
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

/** The functions with the most self time in a CPU profile, as "name (file:line) ms". */
function topSelfTime(profile: { nodes: ProfileNode[]; samples?: number[]; timeDeltas?: number[] }, n: number): string[] {
  const byId = new Map(profile.nodes.map((p) => [p.id, p]));
  const self = new Map<string, number>();
  (profile.samples ?? []).forEach((id, i) => {
    const node = byId.get(id);
    if (!node) return;
    const f = node.callFrame;
    const key = `${f.functionName || '(anonymous)'} (${f.url.split('/').pop() || f.url || 'native'}:${f.lineNumber + 1})`;
    self.set(key, (self.get(key) ?? 0) + (profile.timeDeltas?.[i] ?? 0) / 1000);
  });
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, ms]) => `${ms.toFixed(0).padStart(6)} ms  ${k}`);
}

async function main(): Promise<void> {
  const outDir = mkdtempSync(join(tmpdir(), 'chainflow-bench-web-'));
  say(`building the web app…`);
  await build({ root: join(root, 'web'), configFile: join(root, 'web', 'vite.config.ts'), logLevel: 'warn', build: { outDir, emptyOutDir: true, minify: !PROFILE, sourcemap: false } });
  const stack = await startLocalStack('bench-editor');
  const server = createServer(createApp({ orm: stack.orm, temporal: stack.client, logger: createLogger('silent', 'bench'), taskQueue: 'bench-editor', webDir: outDir, auth: resolveAuthOptions({ rateLimitPerMinute: 100_000 }) }));
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'] });
  try {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const em = stack.orm.em.fork();
    await createUser(em, { email: EMAIL, password: PASSWORD, role: 'admin', name: 'Bench' });
    await em.flush();
    const graph = generateChain(NODES);
    const { chain } = await importChain(stack.orm.em.fork(), graph);
    say(`chain: ${graph.nodes.length} nodes, ${graph.edges.length} edges; Chromium ${browser.version()}, viewport 1440×900`);

    const context = await browser.newContext({ baseURL: url, viewport: { width: 1440, height: 900 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.addInitScript(() => {
      const w = window;
      w.longTasks = [];
      const Observer = (globalThis as unknown as { PerformanceObserver: LongTaskObserver }).PerformanceObserver;
      new Observer((list) => list.getEntries().forEach((e) => w.longTasks.push(Math.round(e.duration)))).observe({ type: 'longtask', buffered: true });
    });
    await page.goto('/login');
    await page.locator('input[name="email"]').fill(EMAIL);
    await page.locator('input[name="password"]').fill(PASSWORD);
    await page.locator('button[type="submit"]').click();
    await page.waitForURL((u) => u.pathname === '/chains');

    const rows: string[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      // In-app navigation (as an editor clicks through), not a reload.
      if (round > 1) await page.goBack();
      await page.waitForURL((u) => u.pathname === '/chains');
      const link = page.getByTestId(`chain-card-${chain.slug}`).locator('a.name');
      await link.waitFor();
      await page.evaluate(() => (window.longTasks = []));
      const cdp = PROFILE && round === 1 ? await context.newCDPSession(page) : null;
      if (cdp) {
        await cdp.send('Profiler.enable');
        await cdp.send('Profiler.setSamplingInterval', { interval: 500 });
        await cdp.send('Profiler.start');
      }
      const t0 = performance.now();
      await link.click();
      await page
        .locator('.vue-flow__node')
        .first()
        .waitFor({ state: 'visible', timeout: 60_000 })
        .catch(async (err: unknown) => {
          const path = join(tmpdir(), 'chainflow-bench-editor.png');
          await page.screenshot({ path });
          say(`nothing painted; screenshot ${path}; ${await page.locator('.vue-flow__node').count()} nodes in the DOM; errors: ${errors.join(' | ') || 'none'}`);
          throw err;
        });
      await painted(page);
      const open = performance.now() - t0;
      const inDom = await page.locator('.vue-flow__node').count();
      await settled(page);
      const panOpen = await pan(page);
      const f0 = performance.now();
      await page.getByTestId('fit-button').click();
      await settled(page);
      await painted(page);
      const fit = performance.now() - f0;
      const inDomFit = await page.locator('.vue-flow__node').count();
      const lite = await page.locator('[data-lite="true"].card').count();
      const panOut = await pan(page);
      if (cdp) {
        const { profile } = await cdp.send('Profiler.stop');
        say('profile of round 1 (open + pan zoomed out), self time:');
        for (const line of topSelfTime(profile as Parameters<typeof topSelfTime>[0], 20)) say(`  ${line}`);
      }
      await page.getByTestId('jump-button').click();
      await page.getByTestId('jump-select').locator('input').fill('q120');
      await page.keyboard.press('Enter');
      await page.locator('.n-modal').waitFor({ state: 'detached' });
      await settled(page);
      const panIn = await pan(page);
      const cardsIn = await page.locator('.vue-flow__node').count();
      const longTasks = await page.evaluate(() => window.longTasks.slice().sort((a, b) => b - a).slice(0, 5));
      rows.push(
        `round ${round}: open ${open.toFixed(0)} ms (${inDom} nodes in the DOM) · pan ${panOpen.toFixed(0)} ms · zoom to fit ${fit.toFixed(0)} ms (${inDomFit} nodes, ${lite} placeholders) · pan zoomed out ${panOut.toFixed(0)} ms · pan at 100 % after a jump ${panIn.toFixed(0)} ms (${cardsIn} cards) · longest tasks ${longTasks.join(', ') || '—'} ms`,
      );
      say(rows.at(-1) ?? '');
    }
    if (errors.length) say(`page errors: ${errors.join(' | ')}`);
    say('targets: open < 2000 ms, pan < 2000 ms (the issue); figures only, no pass/fail');
  } finally {
    await browser.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await stack.close();
    rmSync(outDir, { recursive: true, force: true });
  }
}

await main();
