// `npm run bench`: Chainflow's speed and memory figures, on its own stack.
//
//   npm run bench -- [--sessions 200] [--messages 10] [--idle 10000] [--nodes 1000]
//
// Prints throughput and reply latency of N concurrent web-chat sessions through the
// greeting chain, the same for a minimal baseline workflow (one activity per Update) on
// the same server, their ratio, the compile time of a generated chain, and the worker's
// memory with many idle waiting sessions. Figures only: no pass/fail.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { WithStartWorkflowOperation, type Client } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { compileChain } from '../chain/index.ts';
import { importChain, parseChainFile } from '../api/services/chain-service.ts';
import { startLocalStack } from '../cli/local-stack.ts';
import { sendUpdate, type dialogue, type DialogueInput } from '../temporal/contracts.ts';
import { baselineSend, type baseline } from './baseline-workflows.ts';
import { generateChain } from './generate.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values: flags } = parseArgs({
  args: process.argv.slice(2),
  options: {
    sessions: { type: 'string', default: '200' },
    messages: { type: 'string', default: '10' },
    idle: { type: 'string', default: '10000' },
    nodes: { type: 'string', default: '1000' },
    'plugin-reloads': { type: 'string' },
  },
});
// `--plugin-reloads N`: only the plugin host's reload memory (bench/plugin-reload.ts).
if (flags['plugin-reloads'] !== undefined) {
  const { measureReloads } = await import('./plugin-reload.ts');
  const reloads = Number(flags['plugin-reloads']);
  const { afterOneMb, afterAllMb } = await measureReloads(reloads);
  process.stdout.write(`plugin reloads: RSS after 1 reload ${afterOneMb.toFixed(1)} MB, after ${reloads} ${afterAllMb.toFixed(1)} MB (+${(afterAllMb - afterOneMb).toFixed(1)} MB; target ≤ +20 MB)\n`);
  process.exit(0);
}
const SESSIONS = Number(flags.sessions);
const MESSAGES = Number(flags.messages);
const IDLE = Number(flags.idle);
const NODES = Number(flags.nodes);
const say = (line: string) => process.stdout.write(`${line}\n`);

interface Run {
  label: string;
  seconds: number;
  messages: number;
  latencies: number[];
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

function summarize(run: Run) {
  const sorted = [...run.latencies].sort((a, b) => a - b);
  return { rate: run.messages / run.seconds, p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99) };
}

/** Drives `sessions` concurrent conversations, each sending `messages` messages in turn. */
async function drive(label: string, sessions: number, messages: number, sendOne: (session: number, n: number) => Promise<void>): Promise<Run> {
  const latencies: number[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: sessions }, async (_, s) => {
      for (let n = 0; n < messages; n++) {
        const t = performance.now();
        await sendOne(s, n);
        latencies.push(performance.now() - t);
      }
    }),
  );
  return { label, seconds: (performance.now() - started) / 1000, messages: sessions * messages, latencies };
}

async function pool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) await fn(items[next++] as T);
  }));
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

async function waitForPoller(client: Client, taskQueue: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const res = await client.workflowService.describeTaskQueue({ namespace: client.options.namespace, taskQueue: { name: taskQueue }, taskQueueType: 1 });
    if ((res.pollers?.length ?? 0) > 0) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`No worker polls ${taskQueue}`);
}

async function main(): Promise<void> {
  const children: ChildProcess[] = [];
  say(`Chainflow bench: ${SESSIONS} sessions × ${MESSAGES} messages, ${IDLE} idle sessions, a ${NODES}-node chain`);
  const stack = await startLocalStack('bench');
  const { dir, pg, server, orm, client } = stack;
  try {
    const { chain, version } = await importChain(orm.em.fork(), parseChainFile(readFileSync(join(root, 'examples', 'greeting.yaml'), 'utf8')));

    // Workers in their own processes, as in production.
    const env = { ...process.env, DATABASE_URL: pg.url, TEMPORAL_ADDRESS: server.address, TEMPORAL_NAMESPACE: 'chainflow', TEMPORAL_TASK_QUEUE: 'bench', DATA_DIR: dir, LOG_LEVEL: 'warn' };
    const ours = spawn(process.execPath, [...process.execArgv, join(root, 'cli', 'main.ts'), 'worker'], { env, stdio: ['ignore', 'inherit', 'inherit'] });
    children.push(ours);
    const baselineBundle = join(dir, 'baseline.js');
    writeFileSync(baselineBundle, (await bundleWorkflowCode({ workflowsPath: join(root, 'bench', 'baseline-workflows.ts'), logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error } })).code);
    const base = spawn(process.execPath, [...process.execArgv, join(root, 'bench', 'baseline-worker.ts'), server.address, 'chainflow', 'bench-baseline', baselineBundle], { stdio: ['ignore', 'ignore', 'inherit'] });
    children.push(base);
    await Promise.all([waitForPoller(client, 'bench'), waitForPoller(client, 'bench-baseline')]);

    const dialogueInput = (visitor: string): DialogueInput => ({
      chainId: chain.id,
      versionId: version.id,
      channel: 'web',
      owners: { user: `web:${visitor}`, chat: `web:${visitor}`, bot: `chain:${chain.id}` },
    });
    const sendOurs = (prefix: string) => async (s: number, n: number) => {
      const visitor = `${prefix}${s}`;
      const text = n === 0 ? 'hi' : n === 1 ? 'Ann' : 'hello again';
      await client.workflow.executeUpdateWithStart(sendUpdate, {
        args: [{ id: `${visitor}-${n}`, text }],
        startWorkflowOperation: new WithStartWorkflowOperation<typeof dialogue>('dialogue', { workflowId: `web:${chain.id}:${visitor}`, taskQueue: 'bench', args: [dialogueInput(visitor)], workflowIdConflictPolicy: 'USE_EXISTING' }),
      });
    };
    const sendBaseline = (prefix: string) => async (s: number, n: number) => {
      await client.workflow.executeUpdateWithStart(baselineSend, {
        args: [{ id: `${prefix}${s}-${n}`, text: n === 0 ? 'hi' : 'Ann' }],
        startWorkflowOperation: new WithStartWorkflowOperation<typeof baseline>('baseline', { workflowId: `base:${prefix}${s}`, taskQueue: 'bench-baseline', args: [], workflowIdConflictPolicy: 'USE_EXISTING' }),
      });
    };

    say('warming up…');
    await drive('warm-up', 10, 3, sendOurs('warm'));
    await drive('warm-up', 10, 3, sendBaseline('warm'));

    const oursRun = await drive('chainflow', SESSIONS, MESSAGES, sendOurs('v'));
    const baseRun = await drive('baseline', SESSIONS, MESSAGES, sendBaseline('b'));
    const o = summarize(oursRun);
    const b = summarize(baseRun);
    const fmt = (x: number) => x.toFixed(1);
    say('');
    say('| run | messages/s | p50 ms | p95 ms | p99 ms |');
    say('|---|---|---|---|---|');
    say(`| chainflow (greeting chain) | ${fmt(o.rate)} | ${fmt(o.p50)} | ${fmt(o.p95)} | ${fmt(o.p99)} |`);
    say(`| baseline (1 activity per Update) | ${fmt(b.rate)} | ${fmt(b.p50)} | ${fmt(b.p95)} | ${fmt(b.p99)} |`);
    say(`| ratio ours/baseline | ${(o.rate / b.rate).toFixed(2)} | | | ${(o.p99 / b.p99).toFixed(2)} |`);

    // Compile time of a generated chain.
    const graph = generateChain(NODES);
    const times: number[] = [];
    for (let i = 0; i < 7; i++) {
      const t = performance.now();
      const result = compileChain(graph);
      times.push(performance.now() - t);
      if (!result.ok) throw new Error(`generated chain does not compile: ${result.errors[0]?.message}`);
    }
    const compileMs = [...times].sort((a, c) => a - c)[3] ?? NaN;
    say('');
    say(`compile: ${graph.nodes.length} nodes, ${graph.edges.length} edges in ${compileMs.toFixed(1)} ms (median of 7)`);

    // Worker memory with idle sessions waiting at the ask.
    const pid = ours.pid ?? 0;
    const rssBefore = rssMb(pid);
    const idleStarted = performance.now();
    await pool(Array.from({ length: IDLE }, (_, i) => i), 50, (i) => sendOurs('idle')(i, 0));
    const idleSeconds = (performance.now() - idleStarted) / 1000;
    const rssAfter = rssMb(pid);
    say(`idle: ${IDLE} sessions waiting at the ask (started in ${idleSeconds.toFixed(1)} s, ${(IDLE / idleSeconds).toFixed(0)}/s); worker RSS ${rssBefore.toFixed(0)} MB → ${rssAfter.toFixed(0)} MB`);
    const basePid = base.pid ?? 0;
    const baseBefore = rssMb(basePid);
    await pool(Array.from({ length: IDLE }, (_, i) => i), 50, (i) => sendBaseline('idle')(i, 0));
    const baseAfter = rssMb(basePid);
    say(`idle baseline: ${IDLE} baseline workflows; baseline worker RSS ${baseBefore.toFixed(0)} MB → ${baseAfter.toFixed(0)} MB`);
    say('');
    say(
      `summary: ${fmt(o.rate)} msg/s (baseline ${fmt(b.rate)}, ratio ${(o.rate / b.rate).toFixed(2)}), p99 ${fmt(o.p99)} ms (baseline ${fmt(b.p99)}, ratio ${(o.p99 / b.p99).toFixed(2)}), compile ${graph.nodes.length} nodes ${compileMs.toFixed(0)} ms, worker RSS ${rssAfter.toFixed(0)} MB with ${IDLE} idle sessions`,
    );
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
