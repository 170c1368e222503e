import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

// Lints probe sources, as if they were files at the given paths, with the repository's own
// eslint.config.js: each forbidden import must be reported, each allowed one must pass.
// Only the layer rules run (the type-aware rules need the files on disk).
const root = fileURLToPath(new URL('../..', import.meta.url));
const eslint = new ESLint({
  cwd: root,
  overrideConfig: { languageOptions: { parserOptions: { projectService: false } } },
  ruleFilter: ({ ruleId }) => ruleId === 'chainflow/layers' || ruleId === 'no-restricted-globals',
});

async function problems(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(`${code}\nexport {};\n`, { filePath });
  if (!result) throw new Error('no lint result');
  return result.messages.map((m) => `${m.ruleId ?? 'fatal'}: ${m.message}`);
}

type Probe = [file: string, code: string];

function expectForbidden(probes: Probe[], layer: string): void {
  it.each(probes)('%s rejects: %s', async (file, code) => {
    const found = await problems(file, code);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^(chainflow\/layers|no-restricted-globals): /);
    if (found[0]?.startsWith('chainflow/layers')) expect(found[0]).toContain(layer);
  });
}

function expectAllowed(probes: Probe[]): void {
  it.each(probes)('%s allows: %s', async (file, code) => {
    expect(await problems(file, code)).toEqual([]);
  });
}

describe('chain/ imports nothing of ours outside chain/, no Node built-ins and no I/O', () => {
  expectForbidden([
    ['chain/probe.ts', "import { readFileSync } from 'fs';"],
    ['chain/probe.ts', "import { readFileSync } from 'node:fs';"],
    ['chain/nodes/probe.ts', "import { join } from 'path';"],
    ['chain/probe.ts', "import { setTimeout } from 'timers/promises';"],
    ['chain/probe.ts', "import pg from 'pg';"],
    ['chain/probe.ts', "import { Bot } from 'grammy';"],
    ['chain/probe.ts', "import { proxyActivities } from '@temporalio/workflow';"],
    ['chain/probe.ts', "import type { Config } from '../config.ts';"],
    ['chain/nodes/probe.ts', "import type { Config } from '../../config.ts';"],
    ['chain/probe.ts', "import { createLogger } from '../lib/logger.ts';"],
    ['chain/nodes/probe.ts', "import { createOrm } from '../../db/orm.ts';"],
    ['chain/probe.ts', "export { createApp } from '../api/app.ts';"],
    ['chain/probe.ts', "export * from '../workflows/index.ts';"],
    ['chain/probe.ts', "const os = await import('node:os'); console.log(os);"],
    ['chain/probe.ts', "export type Client = import('pg').Client;"],
    ['chain/probe.ts', 'export const debug = process.env.DEBUG;'],
  ], 'chain/');
  expectAllowed([
    ['chain/probe.ts', "import { z } from 'zod'; console.log(z);"],
    ['chain/probe.ts', "import { RE2JS } from 're2js'; console.log(RE2JS);"],
    ['chain/probe.ts', "import type { Scope } from './scope.ts'; export type S = Scope;"],
    ['chain/nodes/probe.ts', "import { createScope } from '../scope.ts'; console.log(createScope);"],
    ['chain/compile/probe.ts', "import type { Graph } from '../graph.ts'; export type G = Graph;"],
  ]);
});

describe('workflows/ imports chain/runtime.ts, activity types and @temporalio/workflow only', () => {
  expectForbidden([
    ['workflows/probe.ts', "import { readFileSync } from 'node:fs';"],
    ['workflows/steps/probe.ts', "import { randomUUID } from 'crypto';"],
    ['workflows/probe.ts', "import { Client } from '@temporalio/client';"],
    ['workflows/probe.ts', "import { Worker } from '@temporalio/worker';"],
    ['workflows/probe.ts', "import pg from 'pg';"],
    ['workflows/probe.ts', "import { z } from 'zod';"],
    ['workflows/probe.ts', "import { createActivities } from '../activities/index.ts';"],
    ['workflows/probe.ts', "import { type EngineActivities } from '../activities/engine.ts';"],
    ['workflows/probe.ts', "import { compileChain } from '../chain/index.ts';"],
    ['workflows/steps/probe.ts', "import { renderTemplate } from '../../chain/template.ts';"],
    ['workflows/probe.ts', "import type { Config } from '../config.ts';"],
    ['workflows/probe.ts', "import { createOrm } from '../db/orm.ts';"],
    ['workflows/probe.ts', "import { freePort } from '../lib/processes.ts';"],
    ['workflows/probe.ts', "import type { DialogueInput } from '../temporal/contracts.ts';"],
    ['workflows/probe.ts', 'export const now = Buffer.from("x");'],
  ], 'workflows/');
  expectAllowed([
    ['workflows/probe.ts', "import { proxyActivities } from '@temporalio/workflow'; console.log(proxyActivities);"],
    ['workflows/probe.ts', "import { defineSearchAttributeKey } from '@temporalio/common'; console.log(defineSearchAttributeKey);"],
    ['workflows/probe.ts', "import type * as activities from '../activities/index.ts'; export type A = typeof activities;"],
    ['workflows/steps/probe.ts', "import type { EngineActivities } from '../../activities/engine.ts'; export type E = EngineActivities;"],
    ['workflows/probe.ts', "import { renderTemplate } from '../chain/runtime.ts'; console.log(renderTemplate);"],
    ['workflows/steps/probe.ts', "import { renderTemplate } from '../../chain/runtime.ts'; console.log(renderTemplate);"],
    ['workflows/probe.ts', "import type { ChainIR } from '../chain/ir.ts'; export type I = ChainIR;"],
    ['workflows/steps/probe.ts', "import type { Session } from '../session.ts'; export type S = Session;"],
  ]);
});

describe('plugins/ imports only the plugin SDK of our code', () => {
  expectForbidden([
    ['plugins/weather/index.ts', "import { compileChain } from '../../chain/index.ts';"],
    ['plugins/weather/index.ts', "import { createOrm } from '../../db/orm.ts';"],
    ['plugins/weather/lib/fetch.ts', "import { safeFetch } from '../../../activities/ssrf.ts';"],
    ['plugins/weather/index.ts', "import { helper } from '../spam-filter/helper.ts';"],
    ['plugins/weather/index.ts', "import { compileChain } from 'chainflow/chain';"],
    ['plugins/weather/index.ts', "import { request } from 'node:http';"],
    ['plugins/weather/index.ts', "import { readFile } from 'fs/promises';"],
    ['plugins/weather/index.js', "import { execSync } from 'node:child_process';"],
    ['plugins/weather/index.mjs', "import { createOrm } from '../../db/orm.ts';"],
  ], 'plugins/');
  expectAllowed([
    ['plugins/weather/index.ts', "import { definePlugin } from 'chainflow/plugin-sdk'; console.log(definePlugin);"],
    ['plugins/weather/index.ts', "import { helper } from './lib/helper.ts'; console.log(helper);"],
    ['plugins/weather/lib/helper.ts', "import { units } from '../units.ts'; console.log(units);"],
    ['plugins/jsonata/index.ts', "import jsonata from 'jsonata'; console.log(jsonata);"],
    ['plugins/weather/index.js', "import { definePlugin } from 'chainflow/plugin-sdk'; console.log(definePlugin);"],
  ]);
});

describe('web/ imports only chain/ of our code', () => {
  expectForbidden([
    ['web/src/features/chains/chains.store.ts', "import { createApp } from '../../../../api/app.ts';"],
    ['web/src/features/chains/chains.store.ts', "import type { Chain } from '../../../../db/entities/chain.ts';"],
    ['web/src/main.ts', "import { createLogger } from '../../lib/logger.ts';"],
    ['web/src/main.ts', "import type { Config } from '../../config.ts';"],
    ['web/src/main.ts', "import { proxyActivities } from '../../workflows/index.ts';"],
    ['web/src/main.ts', "import { readFileSync } from 'node:fs';"],
    ['web/vite.config.ts', "import { loadConfig } from '../config.ts';"],
  ], 'web/');
  expectAllowed([
    ['web/src/features/chains/chains.store.ts', "import { compileChain } from '../../../../chain/index.ts'; console.log(compileChain);"],
    ['web/src/main.ts', "import { createApp } from 'vue'; console.log(createApp);"],
    ['web/src/main.ts', "import { defineStore } from 'pinia'; console.log(defineStore);"],
    ['web/src/features/home/components/panel.ts', "import { useHome } from '../home.store.ts'; console.log(useHome);"],
    ['web/vite.config.ts', "import { fileURLToPath } from 'node:url'; console.log(fileURLToPath);"],
  ]);
});
