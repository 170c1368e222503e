import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import { quietTemporalRuntime, testStack } from '../support/stack.ts';

const dir = fileURLToPath(new URL('../histories', import.meta.url));
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

describe('replay of recorded histories', () => {
  it('has recorded histories to replay, from before and after each patched() change', () => {
    expect(files.length).toBeGreaterThanOrEqual(3);
    // v1 = recorded before the 'flush-saves-variables' patch; later labels after it.
    expect(files.some((f) => f.endsWith('.v1.json'))).toBe(true);
    expect(files.some((f) => !f.endsWith('.v1.json'))).toBe(true);
  });

  it('replays every recorded session with the current workflow code without nondeterminism', async () => {
    quietTemporalRuntime();
    const histories = files.map((f) => ({ workflowId: f, history: JSON.parse(readFileSync(join(dir, f), 'utf8')) as unknown }));
    const results = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle: { codePath: testStack().workflowBundlePath } }, histories)) {
      results.push({ workflowId: result.workflowId, error: result.error ? String(result.error) : undefined });
    }
    expect(results).toEqual(files.map((workflowId) => ({ workflowId, error: undefined })));
  });
});

describe('the workflow bundle', () => {
  it('leaves zod and the node specs out (per-workflow memory; see docs/performance.md)', () => {
    const code = readFileSync(testStack().workflowBundlePath, 'utf8');
    expect(code).not.toMatch(/node_modules\/zod\//);
    expect(code).not.toMatch(/chain\/nodes\/spec\.ts/);
    expect(code).toMatch(/chain\/runtime\.ts/);
  });
});
