import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCredential } from '../../db/credential-store.ts';
import { createLlmActivities, unfence } from '../../activities/llm.ts';
import type { SecretBox } from '../../lib/secret-box.ts';
import { createTestDatabase, type TestDatabase } from '../support/stack.ts';
import { effectInput, expectRetryable, llmConfig, testSecretBox } from './support/fixtures.ts';
import { captureLogger, startOpenAiServer, type OpenAiServer } from './support/servers.ts';

const API_KEY = 'sk-test-9f8e7d6c5b4a3921';

let db: TestDatabase;
let box: SecretBox;
let provider: OpenAiServer;
let credentialId: string;
let streamingId: string;
const logs = captureLogger();
let llmComplete: ReturnType<typeof createLlmActivities>['llmComplete'];

beforeAll(async () => {
  [db, provider] = await Promise.all([createTestDatabase(), startOpenAiServer()]);
  box = testSecretBox();
  credentialId = (await createCredential(db.orm.em, box, { name: 'local_llm', kind: 'openai', value: API_KEY, meta: { baseUrl: provider.baseUrl } })).id;
  streamingId = (await createCredential(db.orm.em, box, { name: 'local_llm_stream', kind: 'openai', value: API_KEY, meta: { baseUrl: provider.baseUrl, stream: true } })).id;
  await createCredential(db.orm.em, box, { name: 'not_llm', kind: 'bearer', value: 'some-token' });
  ({ llmComplete } = createLlmActivities({ orm: db.orm, logger: logs.logger, secretBox: box, ssrf: { allow: ['127.0.0.1/32'] }, llm: { timeoutMs: 10_000 } }));
});

afterAll(async () => {
  await provider?.close();
  await db?.drop();
});

function lastRequest() {
  const request = provider.requests.at(-1);
  if (!request) throw new Error('the provider received nothing');
  return request;
}

describe('llm node: completions', () => {
  it('sends system, memory and the rendered prompt, and saves the reply (non-streaming)', async () => {
    provider.script({ kind: 'reply', content: 'Bonjour, Ann!', usage: { prompt_tokens: 30, completion_tokens: 5 } });
    const config = llmConfig({
      credentialId,
      model: 'gpt-test',
      system: 'You translate for {{ user.first_name }}.',
      prompt: 'Translate: {{ message.text }}',
      temperature: 0.2,
      maxTokens: 64,
      memory: { turns: 1 },
      variable: 'session.reply',
    });
    const memory = [
      { role: 'user' as const, content: 'old question' },
      { role: 'assistant' as const, content: 'old answer' },
      { role: 'user' as const, content: 'Translate: hi' },
      { role: 'assistant' as const, content: 'Salut' },
    ];
    const result = await llmComplete({ ...effectInput(config, { user: { first_name: 'Ann' }, message: { text: 'Hello, Ann!' } }), memory });

    expect(result).toEqual({
      ok: true,
      set: [{ variable: 'session.reply', value: 'Bonjour, Ann!' }],
      event: { model: 'gpt-test', usage: { promptTokens: 30, completionTokens: 5, totalTokens: 35 }, finishReason: 'stop', streamed: false, ms: expect.any(Number) },
    });
    const request = lastRequest();
    expect(request.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(request.body).toMatchObject({
      model: 'gpt-test',
      temperature: 0.2,
      max_tokens: 64,
      messages: [
        { role: 'system', content: 'You translate for Ann.' },
        { role: 'user', content: 'Translate: hi' },
        { role: 'assistant', content: 'Salut' },
        { role: 'user', content: 'Translate: Hello, Ann!' },
      ],
    });
    expect(request.body.stream).toBeFalsy();
  });

  it('streams the reply when the credential asks for streaming', async () => {
    provider.script({ kind: 'reply', content: 'A streamed answer, in pieces.', usage: { prompt_tokens: 9, completion_tokens: 8 } });
    const config = llmConfig({ credentialId: streamingId, model: 'gpt-test', variable: 'session.reply' });
    const result = await llmComplete({ ...effectInput(config, { message: { text: 'Go' } }), memory: [] });

    expect(lastRequest().body).toMatchObject({ stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'Go' }] });
    expect(result).toMatchObject({
      ok: true,
      set: [{ variable: 'session.reply', value: 'A streamed answer, in pieces.' }],
      event: { streamed: true, finishReason: 'stop', usage: { promptTokens: 9, completionTokens: 8, totalTokens: 17 } },
    });
  });

  it('parses JSON output and checks it against the schema', async () => {
    const schema = { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer', minimum: 1 } }, required: ['city', 'days'], additionalProperties: false };
    const config = llmConfig({ credentialId, model: 'gpt-test', output: { kind: 'json', schema }, variable: 'session.plan' });

    provider.script({ kind: 'reply', content: '{"city": "Riga", "days": 3}' });
    const valid = await llmComplete({ ...effectInput(config, { message: { text: 'Plan a trip' } }), memory: [] });
    expect(valid).toMatchObject({ ok: true, set: [{ variable: 'session.plan', value: { city: 'Riga', days: 3 } }] });
    expect(lastRequest().body).toMatchObject({ response_format: { type: 'json_schema', json_schema: { name: 'output', schema } } });
    expect((lastRequest().body.messages as Array<{ role: string; content: string }>)[0]).toMatchObject({ role: 'system', content: expect.stringContaining('JSON') });

    provider.script({ kind: 'reply', content: '{"city": "Riga", "days": 0}' });
    const invalid = await llmComplete({ ...effectInput(config, { message: { text: 'Plan a trip' } }), memory: [] });
    expect(invalid).toMatchObject({ ok: false, error: { code: 'llm_invalid_json', message: expect.stringContaining('$.days') } });

    provider.script({ kind: 'reply', content: 'Sure! Riga for three days.' });
    const prose = await llmComplete({ ...effectInput(config, { message: { text: 'Plan a trip' } }), memory: [] });
    expect(prose).toMatchObject({ ok: false, error: { code: 'llm_invalid_json', message: expect.stringContaining('not JSON') } });
  });

  it('parses streamed JSON without a schema, tolerating a code fence', async () => {
    provider.script({ kind: 'reply', content: '```json\n{"ok": true, "items": [1, 2]}\n```' });
    const config = llmConfig({ credentialId: streamingId, model: 'gpt-test', output: { kind: 'json' }, variable: 'session.data' });
    const result = await llmComplete({ ...effectInput(config, { message: { text: 'x' } }), memory: [] });
    expect(result).toMatchObject({ ok: true, set: [{ variable: 'session.data', value: { ok: true, items: [1, 2] } }] });
    expect(lastRequest().body).toMatchObject({ stream: true, response_format: { type: 'json_object' } });
    expect(unfence('  {"a":1} ')).toBe('{"a":1}');
  });

  it('rejects an unusable schema before calling the provider', async () => {
    const before = provider.requests.length;
    const config = llmConfig({ credentialId, model: 'gpt-test', output: { kind: 'json', schema: { $ref: 'https://example.com/schema.json' } }, variable: 'session.data' });
    const result = await llmComplete({ ...effectInput(config), memory: [] });
    expect(result).toMatchObject({ ok: false, error: { code: 'llm_schema_invalid' } });
    expect(provider.requests.length).toBe(before);
  });
});

describe('llm node: failures', () => {
  const config = () => llmConfig({ credentialId, model: 'gpt-test', variable: 'session.reply' });

  it('turns 429 into a retryable failure that waits as Retry-After says', async () => {
    provider.script({ kind: 'error', status: 429, message: 'Rate limit reached for requests', type: 'requests', headers: { 'retry-after': '3' } });
    const failure = await expectRetryable(llmComplete({ ...effectInput(config()), memory: [] }), 'llm_rate_limited');
    expect(failure.nextRetryDelay).toBe(3000);
    expect(failure.details).toEqual([{ status: 429 }]);
    expect(failure.message).toContain('Rate limit reached');
  });

  it('prefers retry-after-ms when the provider sends it', async () => {
    provider.script({ kind: 'error', status: 429, message: 'slow down', headers: { 'retry-after-ms': '1500', 'retry-after': '9' } });
    const failure = await expectRetryable(llmComplete({ ...effectInput(config()), memory: [] }), 'llm_rate_limited');
    expect(failure.nextRetryDelay).toBe(1500);
  });

  it('retries 5xx, then succeeds', async () => {
    provider.script({ kind: 'error', status: 503, message: 'overloaded', type: 'server_error' }, { kind: 'reply', content: 'Back again' });
    const failure = await expectRetryable(llmComplete({ ...effectInput(config()), memory: [] }), 'llm_server_error');
    expect(failure.nextRetryDelay).toBeUndefined();
    expect(await llmComplete({ ...effectInput(config()), memory: [] })).toMatchObject({ ok: true, set: [{ value: 'Back again' }] });
  });

  it('returns final errors for 400, 401 and 404 without the API key', async () => {
    const lines = logs.lines.length;
    const cases: Array<[number, string, string]> = [
      [400, "Invalid value for 'temperature'", 'llm_bad_request'],
      [401, `Incorrect API key provided: ${API_KEY}. You can find your API key at https://platform.openai.com/account/api-keys.`, 'llm_unauthorized'],
      [404, 'The model `gpt-nope` does not exist', 'llm_not_found'],
    ];
    for (const [status, message, code] of cases) {
      provider.script({ kind: 'error', status, message });
      const result = await llmComplete({ ...effectInput(config()), memory: [] });
      expect(result).toMatchObject({ ok: false, error: { code, status } });
      expect(JSON.stringify(result)).not.toContain(API_KEY);
    }
    provider.script({ kind: 'error', status: 401, message: `Incorrect API key provided: ${API_KEY}.` });
    const unauthorized = await llmComplete({ ...effectInput(config()), memory: [] });
    expect(unauthorized).toMatchObject({ ok: false, error: { message: expect.stringContaining("check the API key of credential 'local_llm'") } });
    expect(JSON.stringify(unauthorized)).toContain('[redacted]');
    for (const line of logs.lines.slice(lines)) expect(line).not.toContain(API_KEY);
  });

  it('throws a retryable network failure when the provider cannot be reached', async () => {
    const gone = await startOpenAiServer();
    const dead = await createCredential(db.orm.em, box, { name: 'dead_llm', kind: 'openai', value: API_KEY, meta: { baseUrl: gone.baseUrl } });
    await gone.close();
    const failure = await expectRetryable(llmComplete({ ...effectInput(llmConfig({ credentialId: dead.id, model: 'm', variable: 'session.r' })), memory: [] }), 'llm_network');
    expect(failure.message).not.toContain(API_KEY);
  });

  it('needs an existing openai credential', async () => {
    expect(await llmComplete({ ...effectInput(llmConfig({ credentialId: 'not_llm', model: 'm', variable: 'session.r' })), memory: [] })).toMatchObject({ ok: false, error: { code: 'credential_invalid' } });
    expect(await llmComplete({ ...effectInput(llmConfig({ credentialId: '0b0e9a53-8b3c-4c4a-9a43-6a1d0d6f0f00', model: 'm', variable: 'session.r' })), memory: [] })).toMatchObject({ ok: false, error: { code: 'credential_missing' } });
  });

  it('reports an empty text reply', async () => {
    provider.script({ kind: 'reply', content: '' });
    expect(await llmComplete({ ...effectInput(config()), memory: [] })).toMatchObject({ ok: false, error: { code: 'llm_empty_reply' } });
  });
});
