import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import { quietTemporalRuntime, testStack } from '../support/stack.ts';
import { scenarios, summarize, type Coverage } from '../histories/scenarios.ts';

const dir = fileURLToPath(new URL('../histories', import.meta.url));
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
const read = (file: string) => JSON.parse(readFileSync(join(dir, file), 'utf8')) as Parameters<typeof summarize>[0];
/** `<scenario>.<label>.json` → [scenario, label] */
const nameOf = (file: string) => /^(.+)\.([a-z0-9-]+)\.json$/.exec(file)?.slice(1) as [string, string] | undefined;

describe('replay of recorded histories', () => {
  it('has recorded histories to replay, from before and after each patched() change', () => {
    expect(files.length).toBeGreaterThanOrEqual(3);
    // v1 = recorded before the 'flush-saves-variables' patch; later labels after it.
    expect(files.some((f) => f.endsWith('.v1.json'))).toBe(true);
    expect(files.some((f) => !f.endsWith('.v1.json'))).toBe(true);
  });

  it('has a history for every listed scenario, and every history belongs to one', () => {
    const recorded = files.map((f) => nameOf(f)?.[0]);
    expect(recorded.filter((name) => name === undefined || !(name in scenarios))).toEqual([]);
    expect(Object.keys(scenarios).filter((name) => !recorded.includes(name))).toEqual([]);
  });

  it('has histories from before the patches (v1: no markers) and after each (its marker)', () => {
    const patchesOf = (file: string) => [...new Set(summarize(read(file)).patches)].sort();
    for (const file of files.filter((f) => f.endsWith('.v1.json'))) expect({ file, patches: patchesOf(file) }).toEqual({ file, patches: [] });
    expect(files.filter((f) => patchesOf(f).includes('flush-saves-variables')).length).toBeGreaterThan(0);
    expect(files.filter((f) => patchesOf(f).includes('batch-bursts')).length).toBeGreaterThan(0);
    // v5 = the last recorded before 'local-session-start' (variables in a remote activity).
    expect(files.filter((f) => patchesOf(f).includes('local-session-start')).length).toBeGreaterThan(0);
    expect(files.filter((f) => f.startsWith('greeting-') && !patchesOf(f).includes('local-session-start')).length).toBeGreaterThan(0);
  });

  it.each(files)('%s shows what its scenario covers', (file) => {
    const [scenario] = nameOf(file) ?? [];
    const coverage: Coverage | undefined = scenarios[scenario as keyof typeof scenarios];
    expect(coverage, `${file} is not a scenario of test/histories/scenarios.ts`).toBeDefined();
    if (!coverage) return;
    const seen = summarize(read(file));
    for (const activity of coverage.activities ?? []) expect(seen.activities, `${coverage.covers}: ActivityTaskScheduled ${activity}`).toContain(activity);
    if (coverage.loadsVariables) expect([...seen.activities, ...seen.localActivities], `${coverage.covers}: loadVariables or startSession`).toEqual(expect.arrayContaining([expect.stringMatching(/^(loadVariables|startSession)$/)]));
    for (const type of coverage.nodeTypes ?? []) expect(seen.nodeTypes, `${coverage.covers}: a ${type} node in the loaded chain`).toContain(type);
    if (coverage.versions !== undefined) expect(seen.versions, `${coverage.covers}: chain versions loaded`).toHaveLength(coverage.versions);
    if (coverage.timersFired !== undefined) expect(seen.timersFired, `${coverage.covers}: TimerFired`).toBeGreaterThanOrEqual(coverage.timersFired);
    for (const signal of coverage.signals ?? []) expect(seen.signals, `${coverage.covers}: WorkflowExecutionSignaled ${signal}`).toContain(signal);
    for (const patch of coverage.patches ?? []) expect(seen.patches, `${coverage.covers}: patch marker ${patch}`).toContain(patch);
    expect(seen.continuedAsNew, `${coverage.covers}: WorkflowExecutionContinuedAsNew`).toBe(coverage.continuedAsNew ?? false);
    expect(seen.resumed, `${coverage.covers}: started from a continue-as-new`).toBe(coverage.resumed ?? false);
    for (const reply of coverage.replies ?? []) expect(seen.replies, `${coverage.covers}: a reply like ${reply}`).toContainEqual(expect.stringMatching(reply));
    if (coverage.outcome !== undefined) expect(seen.outcome, `${coverage.covers}: outcome`).toBe(coverage.outcome);
  });

  it('replays every recorded session with the current workflow code without nondeterminism', async () => {
    quietTemporalRuntime();
    // Each under its recorded workflow id (the split node's choice depends on it).
    const histories = files.map((file) => {
      const history = read(file);
      return { file, workflowId: summarize(history).workflowId ?? file, history: history as unknown };
    });
    const results = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle: { codePath: testStack().workflowBundlePath } }, histories)) {
      // Results come in the order of the histories (one replay worker, one at a time).
      results.push({ file: files[results.length], workflowId: result.workflowId, error: result.error ? String(result.error) : undefined });
    }
    expect(results).toEqual(histories.map(({ file, workflowId }) => ({ file, workflowId, error: undefined })));
  });
});

describe('the workflow bundle', () => {
  it('leaves zod and the node specs out (per-workflow memory; see docs/performance.md)', () => {
    const code = readFileSync(testStack().workflowBundlePath, 'utf8');
    expect(code).not.toMatch(/node_modules\/zod\//);
    expect(code).not.toMatch(/chain\/nodes\/spec\.ts/);
    expect(code).toMatch(/chain\/runtime\.ts/);
  });

  it('loads chain/runtime.ts (and re2js) once per worker thread, shared by every cached session', () => {
    const code = readFileSync(testStack().workflowBundlePath, 'utf8');
    // The SDK's preloadModules hook: modules required there land in the shared module cache.
    const preload = /exports\.preloadModules = function preloadModules\(\) \{([^}]*)\}/.exec(code)?.[1] ?? '';
    expect(preload).toMatch(/"\.\/chain\/runtime\.ts"/);
  });
});
