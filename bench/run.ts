// `npm run bench`: Chainflow against raw Temporal doing the same work, in one run.
//
//   npm run bench -- [--quick | --smoke] [--workers 2] [--concurrency 100] [--idle 10000]
//                    [--nodes 1000] [--seconds 20] [--cpu-prof] [--idle-only]
//   npm run bench -- --knowledge 1000,10000,50000,100000 [--knowledge-pgvector 1000,10000]
//                    [--knowledge-dims 384]   (knowledge retrieval by base size: bench/knowledge.ts)
//
// Workloads, each against a hand-written baseline on the same server (bench/baseline-*.ts):
// - long conversations: a chain looping ask → reply, 20 messages per session, against a
//   workflow that answers each Update after one activity;
// - short sessions: the greeting chain (start, 2 messages, end), against a workflow that
//   starts, answers 2 Updates and completes;
// each closed-loop at saturation (throughput) and open-loop at 10/25/50 % of the
// baseline's saturation rate (latency p50/p95/p99, measured from the scheduled send time);
// - idle: N sessions waiting at an ask, worker RSS before/after, and the first reply of the
//   oldest of them (evicted from the sticky cache when N exceeds it: replay cost);
// - Telegram path: test users of the loopback Bot API server (test/support/telegram/) write
//   to a bot; updates go through the gateway (long polling) to sessions and the replies back
//   through the worker's delivery, closed loop: msg/s and p50/p95/p99 (paced by Telegram's
//   own limits: one message per chat per 1.2 s);
// - compile time of a generated chain.
// `--idle-only` runs only the idle workload (memory and replay cost, issue 19 item 3).
// Prints a markdown table with ratios against the targets (docs/performance.md) and writes
// JSON under bench/results/. `--smoke` (≤ 60 s) checks that it all runs: no targets.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { WithStartWorkflowOperation, type Client } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { compileChain, type Graph } from '../chain/index.ts';
import { createChain, createEdge, createNode } from '../chain/testing.ts';
import { importChain, parseChainFile } from '../api/services/chain-service.ts';
import { startLocalStack } from '../cli/local-stack.ts';
import { startTelegramGateways } from '../api/telegram/gateway.ts';
import { BotSchema, botSecretContext } from '../db/bots.ts';
import { createLogger } from '../lib/logger.ts';
import { createSecretBox } from '../lib/secret-box.ts';
import { TelegramTestServer, type TestUser } from '../test/support/telegram/index.ts';
import { sendUpdate, type dialogue, type DialogueInput } from '../temporal/contracts.ts';
import { baselineSend, type baseline } from './baseline-workflows.ts';
import { generateChain } from './generate.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values: flags } = parseArgs({
  args: process.argv.slice(2),
  options: {
    quick: { type: 'boolean', default: false },
    smoke: { type: 'boolean', default: false },
    workers: { type: 'string', default: '1' },
    concurrency: { type: 'string' },
    idle: { type: 'string' },
    nodes: { type: 'string', default: '1000' },
    seconds: { type: 'string' },
    'cpu-prof': { type: 'boolean', default: false },
    'plugin-reloads': { type: 'string' },
    knowledge: { type: 'string' },
    'knowledge-pgvector': { type: 'string' },
    'knowledge-dims': { type: 'string', default: '384' },
    'idle-only': { type: 'boolean', default: false },
  },
});
// `--knowledge N,N,…`: only knowledge retrieval latency by base size (bench/knowledge.ts).
if (flags.knowledge !== undefined || flags['knowledge-pgvector'] !== undefined) {
  const { benchKnowledge } = await import('./knowledge.ts');
  const sizes = (list: string | undefined) => (list ?? '').split(',').map((x) => Number(x.trim())).filter((n) => Number.isInteger(n) && n > 0);
  const rows = await benchKnowledge({ exact: sizes(flags.knowledge), pgvector: sizes(flags['knowledge-pgvector']), dims: Number(flags['knowledge-dims']), say: (line) => process.stdout.write(`${line}\n`) });
  process.stdout.write('\n| path | chunks | dims | search p50 | search p95 | vector list p50 | vector list p95 |\n|---|---|---|---|---|---|---|\n');
  for (const r of rows) process.stdout.write(`| ${r.path} | ${r.chunks} | ${r.dims} | ${r.p50.toFixed(1)} ms | ${r.p95.toFixed(1)} ms | ${r.vectorP50.toFixed(1)} ms | ${r.vectorP95.toFixed(1)} ms |\n`);
  process.exit(0);
}
// `--plugin-reloads N`: only the plugin host's reload memory (bench/plugin-reload.ts).
// In a process of its own: this one has loaded the whole bench (stack, gateway, test
// servers), whose start-up garbage would fall inside the measurement.
if (flags['plugin-reloads'] !== undefined) {
  const { spawnSync } = await import('node:child_process');
  const script = new URL('./plugin-reload.ts', import.meta.url).pathname;
  const run = spawnSync(process.execPath, [...process.execArgv, '--expose-gc', script, String(Number(flags['plugin-reloads']))], { stdio: 'inherit' });
  process.exit(run.status ?? 1);
}
const MODE = flags.smoke ? 'smoke' : flags.quick ? 'quick' : 'full';
const preset = {
  smoke: { seconds: 3, open: 2, concurrency: 20, idle: 50, shares: [0.5], telegramUsers: 8, telegramSeconds: 3 },
  quick: { seconds: 6, open: 3, concurrency: 50, idle: 1000, shares: [0.1, 0.25, 0.5], telegramUsers: 16, telegramSeconds: 6 },
  full: { seconds: 20, open: 10, concurrency: 100, idle: 10000, shares: [0.1, 0.25, 0.5], telegramUsers: 24, telegramSeconds: 20 },
}[MODE];
const CLOSED_S = flags.seconds ? Number(flags.seconds) : preset.seconds;
const OPEN_S = flags.seconds ? Math.max(2, Number(flags.seconds) / 2) : preset.open;
const CONCURRENCY = Number(flags.concurrency ?? preset.concurrency);
const IDLE = Number(flags.idle ?? preset.idle);
const NODES = Number(flags.nodes);
const WORKERS = Number(flags.workers);
const LONG_MESSAGES = 20;
const IDLE_ONLY = flags['idle-only'];
const say = (line: string) => process.stdout.write(`${line}\n`);

interface Stats { rate: number; messages: number; p50: number; p95: number; p99: number }

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}
function stats(latencies: number[], seconds: number): Stats {
  const sorted = [...latencies].sort((a, b) => a - b);
  return { rate: latencies.length / seconds, messages: latencies.length, p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99) };
}

/** A conversation: sends message n of session s and waits for the reply. */
type Send = (session: string, n: number) => Promise<void>;

/** Closed loop: `concurrency` clients each run sessions back to back for `seconds`. */
async function closedLoop(send: Send, perSession: number, concurrency: number, seconds: number, prefix: string): Promise<Stats> {
  const latencies: number[] = [];
  const end = performance.now() + seconds * 1000;
  let sessions = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const session = `${prefix}${sessions++}`;
        for (let n = 0; n < perSession && performance.now() < end; n++) {
          const t = performance.now();
          await send(session, n);
          latencies.push(performance.now() - t);
        }
      }
    }),
  );
  return stats(latencies, (performance.now() - started) / 1000);
}

/**
 * Open loop at a fixed offered rate: message k is due at k / rate seconds, whatever the
 * replies do, on lane k mod P (P ≈ rate × 1 s, so each lane is a user writing about once a
 * second); a lane runs sessions of `perSession` messages one after the other. Latency counts
 * from the due time, so a reply that makes the next message late is charged to it (no
 * coordinated omission).
 */
async function openLoop(send: Send, perSession: number, rate: number, seconds: number, prefix: string): Promise<Stats> {
  const latencies: number[] = [];
  const total = Math.max(1, Math.round(rate * seconds));
  const lanes = Math.max(1, Math.min(total, Math.ceil(rate)));
  const started = performance.now();
  await Promise.all(
    Array.from({ length: lanes }, async (_, lane) => {
      for (let i = 0; lane + i * lanes < total; i++) {
        const k = lane + i * lanes;
        const due = started + (1000 * k) / rate;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        await send(`${prefix}${lane}-${Math.floor(i / perSession)}`, i % perSession);
        latencies.push(performance.now() - due);
      }
    }),
  );
  return stats(latencies, (performance.now() - started) / 1000);
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

async function waitForPoller(client: Client, taskQueue: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const res = await client.workflowService.describeTaskQueue({ namespace: client.options.namespace, taskQueue: { name: taskQueue }, taskQueueType: 1 });
    if ((res.pollers?.length ?? 0) > 0) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`No worker polls ${taskQueue}`);
}

async function pool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) await fn(items[next++] as T);
  }));
}

/** The long-conversation chain: any message → ask → reply → back to the ask, forever. */
function loopChain(): Graph {
  return createChain({
    slug: 'bench-loop',
    name: 'Bench loop',
    nodes: [
      createNode('start', 'start', { trigger: { kind: 'any' } }),
      createNode('ask', 'ask', { prompt: 'Say something', variable: 'session.said' }),
      createNode('reply', 'message', { text: 'echo: {{ session.said }}' }),
      createNode('again', 'goto', { target: 'ask' }),
    ],
    edges: [createEdge('start', 'ask'), createEdge('ask', 'reply'), createEdge('reply', 'again')],
  });
}

/** The Telegram chain: every message is echoed by the ask's prompt, which waits for the next one. */
function echoChain(): Graph {
  return createChain({
    slug: 'bench-echo',
    name: 'Bench echo',
    nodes: [createNode('start', 'start', { trigger: { kind: 'any' } }), createNode('echo', 'ask', { prompt: 'echo {{ message.text }}', variable: 'session.last' })],
    edges: [createEdge('start', 'echo'), createEdge('echo', 'echo')],
  });
}

/** Closed loop over Telegram: each user sends, waits for the bot's echo, sends again. */
async function telegramLoop(bot: Parameters<TestUser['send']>[0], users: TestUser[], seconds: number): Promise<Stats> {
  const latencies: number[] = [];
  const started = performance.now();
  const end = started + seconds * 1000;
  await Promise.all(
    users.map(async (user, u) => {
      for (let n = 0; performance.now() < end; n++) {
        const t = performance.now();
        user.send(bot, `u${u} m${n}`);
        const reply = await user.nextMessage({ bot: bot as never, timeout: 60_000 });
        if (reply.text !== `echo u${u} m${n}`) throw new Error(`telegram: user ${u} got ${JSON.stringify(reply.text)} for message ${n}`);
        latencies.push(performance.now() - t);
      }
    }),
  );
  return stats(latencies, (performance.now() - started) / 1000);
}

async function main(): Promise<void> {
  const children: ChildProcess[] = [];
  const runId = new Date().toISOString().replace(/[:.]/g, '-');
  say(`Chainflow bench (${MODE}): ${WORKERS} worker(s) each, closed loop ${CLOSED_S} s × ${CONCURRENCY} clients, open loop ${OPEN_S} s, ${IDLE} idle sessions, a ${NODES}-node chain`);
  const stack = await startLocalStack('bench');
  const { dir, pg, server, orm, client } = stack;
  try {
    const greeting = await importChain(orm.em.fork(), parseChainFile(readFileSync(join(root, 'examples', 'greeting.yaml'), 'utf8')));
    const loop = await importChain(orm.em.fork(), loopChain());

    // Workers in their own processes, as in production.
    // One secret key for the workers (they decrypt the Telegram bot's token to deliver) and this process.
    const secretKey = `bench:${randomBytes(32).toString('base64')}`;
    const env = { ...process.env, CHAINFLOW_SECRET_KEY: secretKey, DATABASE_URL: pg.url, TEMPORAL_ADDRESS: server.address, TEMPORAL_NAMESPACE: 'chainflow', TEMPORAL_TASK_QUEUE: 'bench', DATA_DIR: dir, LOG_LEVEL: 'warn' };
    const baselineBundle = join(dir, 'baseline.js');
    writeFileSync(baselineBundle, (await bundleWorkflowCode({ workflowsPath: join(root, 'bench', 'baseline-workflows.ts'), logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error } })).code);
    const profDir = join(root, 'bench', 'results', `prof-${runId}`);
    const ours: ChildProcess[] = [];
    const bases: ChildProcess[] = [];
    for (let w = 0; w < WORKERS; w++) {
      const prof = flags['cpu-prof'] ? [`--cpu-prof`, `--cpu-prof-dir=${profDir}`] : [];
      ours.push(spawn(process.execPath, [...process.execArgv, ...prof, join(root, 'cli', 'main.ts'), 'worker'], { env, stdio: ['ignore', 'inherit', 'inherit'] }));
      bases.push(spawn(process.execPath, [...process.execArgv, ...prof, join(root, 'bench', 'baseline-worker.ts'), server.address, 'chainflow', 'bench-baseline', baselineBundle, pg.url], { stdio: ['ignore', 'ignore', 'inherit'] }));
    }
    children.push(...ours, ...bases);
    await Promise.all([waitForPoller(client, 'bench'), waitForPoller(client, 'bench-baseline')]);
    // Worker RSS once it polls, before any session (what the process costs empty).
    const rssStart = ours.reduce((sum, p) => sum + rssMb(p.pid ?? 0), 0);

    const input = (chainId: string, versionId: string, visitor: string): DialogueInput => ({ chainId, versionId, channel: 'web', owners: { user: `web:${visitor}`, chat: `web:${visitor}`, bot: `chain:${chainId}` } });
    const oursSend = (c: { chain: { id: string }; version: { id: string } }, text: (n: number) => string): Send => async (visitor, n) => {
      await client.workflow.executeUpdateWithStart(sendUpdate, {
        args: [{ id: `${visitor}-${n}`, text: text(n), date: Math.floor(Date.now() / 1000), from: { id: visitor }, chat: { id: visitor, type: 'private' } }],
        startWorkflowOperation: new WithStartWorkflowOperation<typeof dialogue>('dialogue', { workflowId: `web:${c.chain.id}:${visitor}`, taskQueue: 'bench', args: [input(c.chain.id, c.version.id, visitor)], workflowIdConflictPolicy: 'USE_EXISTING' }),
      });
    };
    const baseSend = (workflow: 'baseline' | 'baselineShort'): Send => async (visitor, n) => {
      await client.workflow.executeUpdateWithStart(baselineSend, {
        args: [{ id: `${visitor}-${n}`, text: n === 0 ? 'hi' : 'Ann' }],
        startWorkflowOperation: new WithStartWorkflowOperation<typeof baseline>(workflow, { workflowId: `base:${visitor}`, taskQueue: 'bench-baseline', args: [visitor], workflowIdConflictPolicy: 'USE_EXISTING' }),
      });
    };
    const workloads = [
      { name: 'long', title: `long conversations (${LONG_MESSAGES} messages/session)`, perSession: LONG_MESSAGES, ours: oursSend(loop, (n) => `message ${n}`), base: baseSend('baseline') },
      { name: 'short', title: 'short sessions (greeting: start, 2 messages, end)', perSession: 2, ours: oursSend(greeting, (n) => (n === 0 ? 'hi' : 'Ann')), base: baseSend('baselineShort') },
    ];

    say('warming up…');
    for (const w of workloads) {
      // A cold worker on a starved machine may time a first task out: warm-up goes on.
      const warmFailed = (err: unknown) => say(`warm-up: ${err instanceof Error ? err.message : String(err)}`);
      await closedLoop(w.ours, w.perSession, 5, 1, `warm-${w.name}-o`).catch(warmFailed);
      await closedLoop(w.base, w.perSession, 5, 1, `warm-${w.name}-b`).catch(warmFailed);
    }

    const results: Record<string, unknown> = { mode: MODE, workers: WORKERS, concurrency: CONCURRENCY, closedSeconds: CLOSED_S, openSeconds: OPEN_S, at: new Date().toISOString() };
    const rows: string[] = [];
    const targets: { target: string; value: string; met: boolean }[] = [];
    const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '–');
    for (const w of IDLE_ONLY ? [] : workloads) {
      // Ours and the baseline back to back, twice in alternating order, to even out noise.
      const o1 = await closedLoop(w.ours, w.perSession, CONCURRENCY, CLOSED_S / 2, `${w.name}-co1-`);
      const b1 = await closedLoop(w.base, w.perSession, CONCURRENCY, CLOSED_S / 2, `${w.name}-cb1-`);
      const b2 = await closedLoop(w.base, w.perSession, CONCURRENCY, CLOSED_S / 2, `${w.name}-cb2-`);
      const o2 = await closedLoop(w.ours, w.perSession, CONCURRENCY, CLOSED_S / 2, `${w.name}-co2-`);
      const o = { ...o1, rate: (o1.rate + o2.rate) / 2 };
      const b = { ...b1, rate: (b1.rate + b2.rate) / 2 };
      const entry: Record<string, unknown> = { closed: { ours: [o1, o2], baseline: [b1, b2], ratio: o.rate / b.rate } };
      rows.push(`| ${w.title}: closed loop | ${fmt(o.rate)} | ${fmt(b.rate)} | ${(o.rate / b.rate).toFixed(2)} | p99 ${fmt(o1.p99)} / ${fmt(b1.p99)} ms |`);
      targets.push({ target: `${w.name}: throughput ratio ≥ 0.85`, value: (o.rate / b.rate).toFixed(2), met: o.rate / b.rate >= 0.85 });
      const open: Record<string, unknown> = {};
      for (const share of preset.shares) {
        const rate = Math.max(1, b.rate * share);
        const os = await openLoop(w.ours, w.perSession, rate, OPEN_S, `${w.name}-oo${share}-`);
        const bs = await openLoop(w.base, w.perSession, rate, OPEN_S, `${w.name}-ob${share}-`);
        open[String(share)] = { rate, ours: os, baseline: bs };
        rows.push(`| ${w.title}: open loop ${share * 100} % (${fmt(rate)} msg/s) p50/p95/p99 ms | ${fmt(os.p50)} / ${fmt(os.p95)} / ${fmt(os.p99)} | ${fmt(bs.p50)} / ${fmt(bs.p95)} / ${fmt(bs.p99)} | p99 ${(os.p99 / bs.p99).toFixed(2)} | |`);
        if (share === 0.5) targets.push({ target: `${w.name}: open-loop p99 at 50 % ≤ 1.2 × baseline`, value: (os.p99 / bs.p99).toFixed(2), met: os.p99 / bs.p99 <= 1.2 });
      }
      entry.open = open;
      results[w.name] = entry;
    }

    // Telegram path: the loopback Bot API server → gateway (this process stands for the API
    // process) → sessions → the worker's delivery → the server, closed loop.
    {
      const tg = await TelegramTestServer.start();
      const box = createSecretBox(secretKey);
      const echo = await importChain(orm.em.fork(), echoChain());
      const tgBot = tg.createBot({ username: 'bench_bot' });
      const id = randomUUID();
      const em = orm.em.fork();
      em.create(BotSchema, {
        id, name: 'bench', kind: 'telegram_bot', encryptedSecret: box.encrypt(tgBot.token, botSecretContext(id)), telegramId: String(tgBot.id), chainId: echo.chain.id, enabled: true, mode: 'polling', apiRoot: tg.apiRoot,
        encryptedWebhookSecret: null, encryptedApp: null, encryptedLogin: null, status: 'stopped', lastError: null, ownerId: null,
      });
      await em.flush();
      const gateways = await startTelegramGateways({ orm, temporal: client, taskQueue: 'bench', logger: createLogger('warn', 'bench-telegram'), databaseUrl: pg.url, secretBox: box, reconcileMs: 500, pollTimeoutSeconds: 10 });
      try {
        for (let i = 0; !gateways.held().includes(id); i++) {
          if (i > 300) throw new Error('the gateway did not take the bench bot');
          await gateways.reconcile();
          await new Promise((r) => setTimeout(r, 100));
        }
        const users = Array.from({ length: preset.telegramUsers }, (_, i) => tg.createUser({ first_name: `Bench${i}` }));
        const ts = await telegramLoop(tgBot, users, preset.telegramSeconds);
        results.telegram = { users: users.length, ...ts };
        rows.push(`| Telegram path (${users.length} chats, gateway → session → delivery): closed loop msg/s, p50/p95/p99 ms | ${fmt(ts.rate)}; ${fmt(ts.p50)} / ${fmt(ts.p95)} / ${fmt(ts.p99)} | | | paced: 1 message per chat per 1.2 s |`);
      } finally {
        await gateways.close();
        await tg.close();
      }
    }

    // Compile time of a generated chain.
    // The first compile in this process (cold: nothing compiled by V8 yet), then the median
    // of 9 after 3 more warm-up runs: what an API process that publishes and validates
    // chains all day sees.
    const graph = generateChain(NODES);
    const times: number[] = [];
    for (let i = 0; i < (IDLE_ONLY ? 0 : 13); i++) {
      const t = performance.now();
      const result = compileChain(graph);
      times.push(performance.now() - t);
      if (!result.ok) throw new Error(`generated chain does not compile: ${result.errors[0]?.message}`);
    }
    const firstCompileMs = times[0] ?? NaN;
    const compileMs = times.slice(4).sort((a, c) => a - c)[4] ?? NaN;
    results.compile = { nodes: graph.nodes.length, edges: graph.edges.length, medianMs: compileMs, firstMs: firstCompileMs };
    if (!IDLE_ONLY) targets.push({ target: `compile ${graph.nodes.length} nodes ≤ 15 ms`, value: `${compileMs.toFixed(1)} ms`, met: compileMs <= 15 });

    // Idle sessions waiting at the greeting's ask, then the first reply of the oldest ones.
    const sumRss = (ps: ChildProcess[]) => ps.reduce((s, p) => s + rssMb(p.pid ?? 0), 0);
    const greet = workloads[1]!;
    const rssBefore = sumRss(ours);
    const idleStarted = performance.now();
    // A session whose start fails (on a starved machine its first task can time out) is
    // counted, not fatal: the RSS figures stand with it missing.
    let idleFailed = 0;
    await pool(Array.from({ length: IDLE }, (_, i) => i), 50, (i) => greet.ours(`idle${i}`, 0).catch(() => void idleFailed++));
    const idleRate = IDLE / ((performance.now() - idleStarted) / 1000);
    const rssAfter = sumRss(ours);
    const baseBefore = sumRss(bases);
    await pool(Array.from({ length: IDLE }, (_, i) => i), 50, (i) => greet.base(`idle${i}`, 0).catch(() => undefined));
    const baseAfter = sumRss(bases);
    const firstReply: number[] = [];
    const probe = Math.min(MODE === 'smoke' ? 20 : 50, IDLE);
    for (let i = 0; i < probe; i++) {
      const t = performance.now();
      const ok = await greet.ours(`idle${i}`, 1).then(() => true, () => false);
      if (ok) firstReply.push(performance.now() - t);
    }
    const fr = stats(firstReply, 1);
    results.idle = { sessions: IDLE, startedPerSecond: idleRate, oursStartRssMb: rssStart, failedStarts: idleFailed, oursRssMb: [rssBefore, rssAfter], baselineRssMb: [baseBefore, baseAfter], oldestFirstReplyMs: fr };
    rows.push(`| idle: worker RSS MB with ${IDLE} sessions at an ask | ${rssBefore.toFixed(0)} → ${rssAfter.toFixed(0)} | ${baseBefore.toFixed(0)} → ${baseAfter.toFixed(0)} | ${(rssAfter / baseAfter).toFixed(2)} | started ${idleRate.toFixed(0)}/s${idleFailed ? `, ${idleFailed} failed` : ''} |`);
    rows.push(`| idle: first reply of the ${probe} oldest (evicted) sessions p50/p95/p99 ms | ${fmt(fr.p50)} / ${fmt(fr.p95)} / ${fmt(fr.p99)} | | | |`);
    rows.push(`| idle: worker RSS MB once polling, before any session | ${rssStart.toFixed(0)} | | | |`);
    if (IDLE >= 10000) {
      targets.push({ target: `${IDLE} idle sessions: worker RSS < 600 MB`, value: `${rssAfter.toFixed(0)} MB`, met: rssAfter < 600 * WORKERS });
      targets.push({ target: 'evicted-session first reply p50 < 150 ms', value: `${fr.p50.toFixed(0)} ms`, met: fr.p50 < 150 });
    }

    say('');
    say(`${WORKERS} worker(s) of ours against ${WORKERS} baseline worker(s); ratio = chainflow / baseline.`);
    say('');
    say(`| workload | chainflow | baseline | ratio | notes |`);
    say('|---|---|---|---|---|');
    for (const r of rows) say(r);
    say(`| compile: ${graph.nodes.length} nodes, ${graph.edges.length} edges (median of 9, warm) | ${compileMs.toFixed(1)} ms | | | first (cold) ${firstCompileMs.toFixed(1)} ms |`);
    if (MODE !== 'smoke') {
      say('');
      say('| target | measured | met |');
      say('|---|---|---|');
      for (const t of targets) say(`| ${t.target} | ${t.value} | ${t.met ? 'yes' : 'NO'} |`);
      results.targets = targets;
    }
    mkdirSync(join(root, 'bench', 'results'), { recursive: true });
    const file = join(root, 'bench', 'results', `${runId}-${MODE}-w${WORKERS}.json`);
    writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
    say('');
    say(`results: ${file}`);
  } catch (err) {
    // Printed before the stack closes (closing it makes pending client retries throw).
    console.error(err);
    process.exitCode = 1;
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))));
    await stack.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
