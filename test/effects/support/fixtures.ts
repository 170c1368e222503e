import { randomBytes } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { expect } from 'vitest';
import { createScope, type ReadableScope, type Scope } from '../../../chain/index.ts';
import { codeConfigSchema, type CodeConfig } from '../../../chain/nodes/code.ts';
import { httpConfigSchema, type HttpConfig } from '../../../chain/nodes/http.ts';
import { llmConfigSchema, type LlmConfig } from '../../../chain/nodes/llm.ts';
import type { EffectInput } from '../../../activities/effects.ts';
import { createSecretBox, type SecretBox } from '../../../lib/secret-box.ts';

/** A secret box with a fresh random key. */
export function testSecretBox(): SecretBox {
  return createSecretBox([{ id: 'test', key: randomBytes(32) }]);
}

/** An HTTP node config as the IR holds it (defaults applied by the node's schema). */
export function httpConfig(config: Partial<HttpConfig> & { url: string }): HttpConfig {
  return httpConfigSchema.parse(config);
}

export function llmConfig(config: Partial<LlmConfig> & { credentialId: string; model: string; variable: string }): LlmConfig {
  return llmConfigSchema.parse(config);
}

export function codeConfig(config: Partial<CodeConfig> & { source: string }): CodeConfig {
  return codeConfigSchema.parse(config);
}

/** The input the workflow would pass for a node. */
export function effectInput<C>(config: C, scope: Partial<Scope> = {}): EffectInput<C> {
  const full: ReadableScope = createScope(scope);
  return { runId: 'web:chain-1:visitor-1', chainId: 'chain-1', nodeId: 'node-1', config, scope: full };
}

/** Awaits a promise that must reject with a retryable ApplicationFailure; returns it. */
export async function expectRetryable(promise: Promise<unknown>, type: string): Promise<ApplicationFailure> {
  const error = await promise.then(
    () => undefined,
    (rejection: unknown) => rejection,
  );
  expect(error).toBeInstanceOf(ApplicationFailure);
  const failure = error as ApplicationFailure;
  expect(failure.type).toBe(type);
  expect(failure.nonRetryable).toBe(false);
  return failure;
}
