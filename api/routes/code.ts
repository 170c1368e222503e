import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import { codeConfigSchema } from '../../chain/nodes/code.ts';
import type { codeTrial } from '../../temporal/contracts.ts';
import { idParamsSchema } from '../schemas/common.ts';
import { loadChain } from './chain-views.ts';
import { defineOperation, type Operation } from './define.ts';

export interface CodeRouteDeps {
  temporal: Client;
  taskQueue: string;
}

const jsonObject = z.record(z.string(), z.json());

export const codeRunBodySchema = z.strictObject({
  source: codeConfigSchema.shape.source.meta({ description: 'JavaScript defining main(message, variables)' }),
  timeoutMs: codeConfigSchema.shape.timeoutMs,
  memoryMb: codeConfigSchema.shape.memoryMb,
  message: jsonObject.default({}).meta({ description: 'The sample `message` scope, e.g. {"text":"hello"}' }),
  variables: jsonObject.default({}).meta({ description: 'Sample scopes main receives as `variables` (session, user, chat, bot, run); `message` is filled from `message`' }),
});

export const codeRunResultSchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), result: z.json().meta({ description: 'What main returned (null for nothing)' }), console: z.array(z.string()), ms: z.number() }),
  z.object({ ok: z.literal(false), code: z.string().meta({ description: 'code_error, code_timeout, code_memory, code_invalid_result, code_output_too_large or code_busy' }), message: z.string(), console: z.array(z.string()), ms: z.number() }),
]);

const SCOPES = ['session', 'user', 'chat', 'bot', 'run'] as const;

/** `/chains/{id}/code/run`: the editor's "run with sample input" for code nodes. */
export function codeOperations(deps: CodeRouteDeps): Operation[] {
  return [
    defineOperation({
      method: 'post',
      path: '/chains/:id/code/run',
      operationId: 'runCodeSample',
      summary: 'Run a code node’s JavaScript with a sample input',
      description:
        'Runs `main(message, variables)` in the worker’s code sandbox (QuickJS, no network or files) with the given time and memory limits — the same sandbox and limits as a session’s code node — and answers its return value or the failure (a failure of the code is a 200 with `ok: false`). Nothing is saved or written. Needs edit rights on the chain.',
      tags: ['chains'],
      auth: 'bearer',
      params: idParamsSchema,
      body: codeRunBodySchema,
      errors: [404],
      responses: { 200: { description: 'The result, console output and run time', schema: codeRunResultSchema } },
      handler: async ({ res, em, params, body, principal }) => {
        const chain = await loadChain(em, principal, params.id, 'chain:edit');
        const variables: Record<string, z.infer<typeof jsonObject>> = { message: body.message };
        for (const scope of SCOPES) {
          const value = body.variables[scope];
          variables[scope] = typeof value === 'object' && value !== null && !Array.isArray(value) ? value : {};
        }
        const result = await deps.temporal.workflow.execute<typeof codeTrial>('codeTrial', {
          workflowId: `code-trial:${chain.id}:${randomUUID()}`,
          taskQueue: deps.taskQueue,
          args: [{ chainId: chain.id, source: body.source, timeoutMs: body.timeoutMs, memoryMb: body.memoryMb, message: body.message, variables }],
          workflowExecutionTimeout: '1 minute',
        });
        res.json(result);
      },
    }),
  ];
}
