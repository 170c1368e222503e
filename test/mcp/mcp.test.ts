// The MCP server through the SDK's own client, over Streamable HTTP (/mcp) and stdio
// (`node bin/chainflow.js mcp`, bridged to this test's API), acting with personal access
// tokens: an assistant script builds the greeting chain from nothing, a viewer's token
// changes nothing, bad arguments are named, and a revoked token stops at once.

import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startLiveEvents } from '../../api/live/index.ts';
import { apiClient, type ApiClient } from '../../api/mcp/client.ts';
import { createMcpServer } from '../../api/mcp/server.ts';
import { createLogger } from '../../lib/logger.ts';
import { eventually } from '../support/stack.ts';
import { createUser } from '../../api/auth/service.ts';
import { scopedOperationIds } from '../../api/auth/personal-tokens.ts';
import { AuditEntrySchema } from '../../db/accounts.ts';
import { ChainSchema } from '../../db/entities.ts';
import { PersonalTokenSchema } from '../../db/personal-tokens.ts';
import { ROOT } from '../../lib/paths.ts';
import { bearer, openApiDocument, PASSWORD, signIn, uniqueEmail, startApi, type Account, type ApiHarness } from '../api/support/api.ts';

let t: ApiHarness;
let server: Server;
let live: { close(): Promise<void> };
let base: string;
let editor: Account;
let viewer: Account;

const em = () => t.h.db.orm.em.fork();

async function account(role: 'editor' | 'viewer'): Promise<Account> {
  const email = uniqueEmail(`mcp-${role}`);
  const fork = em();
  await createUser(fork, { email, password: PASSWORD, role, name: role });
  await fork.flush();
  return signIn(t.api, email);
}

async function createToken(owner: Account, scopes: string[], name = 'assistant'): Promise<{ id: string; token: string }> {
  const res = await t.api.post('/api/v1/auth/tokens').set(bearer(owner.token)).send({ name, scopes });
  expect(res.status).toBe(201);
  return { id: res.body.id, token: res.body.token };
}

beforeAll(async () => {
  t = await startApi('mcp');
  server = createServer(t.app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  live = await startLiveEvents(server, { orm: t.h.db.orm, databaseUrl: t.h.db.url, jwtSecret: t.auth.jwtSecret, logger: createLogger('silent', 'test') });
  editor = await account('editor');
  viewer = await account('viewer');
});
afterAll(async () => {
  await live?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await t?.close();
});

type Transports = 'http' | 'stdio';

function transportFor(kind: Transports, token: string): Transport {
  if (kind === 'http') return new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${token}` } } });
  return new StdioClientTransport({
    command: process.execPath,
    args: [join(ROOT, 'bin', 'chainflow.js'), 'mcp'],
    cwd: ROOT,
    env: { ...(process.env as Record<string, string>), CHAINFLOW_URL: base, CHAINFLOW_TOKEN: token, LOG_LEVEL: 'silent' },
    stderr: 'pipe',
  });
}

async function connect(kind: Transports, token: string): Promise<Client> {
  const client = new Client({ name: 'chainflow-test-assistant', version: '1.0.0' });
  await client.connect(transportFor(kind, token));
  return client;
}

interface ToolAnswer {
  isError: boolean;
  text: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- tool answers are JSON text
}

async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<ToolAnswer> {
  const result = await client.callTool({ name, arguments: args });
  const content = result.content as { type: string; text: string }[];
  const text = content.map((c) => c.text).join('\n');
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    // an error text
  }
  return { isError: result.isError === true, text, json };
}

/** Calls a tool that must succeed; a failure shows the tool's message. */
async function ok(client: Client, name: string, args: Record<string, unknown> = {}): Promise<ToolAnswer['json']> {
  const answer = await call(client, name, args);
  expect(answer.isError, `${name}: ${answer.text}`).toBe(false);
  return answer.json;
}

/** What docs/mcp.md's transcript shows of an answer (graphs and ids left out). */
function abridged(name: string, answer: ToolAnswer['json']): unknown {
  if (name === 'create_chain') return { slug: answer.slug, draftRevision: answer.draftRevision, draft: { nodes: answer.draft.nodes.map((n: { id: string }) => n.id) }, validation: answer.validation };
  if (name === 'simulate') return { replies: answer.replies.map((r: { text: string }) => r.text), waitingAt: answer.waitingAt, ended: answer.ended };
  if (name === 'publish') return { number: answer.number, note: answer.note, active: answer.active };
  if (answer && typeof answer === 'object' && 'validation' in answer) {
    const errors = (answer.validation.errors as { code: string; nodeId?: string }[]).map((e) => `${e.code}${e.nodeId ? `@${e.nodeId}` : ''}`);
    return { revision: answer.revision, ok: answer.validation.ok, errors };
  }
  return answer;
}

/** The assistant's build: the greeting chain from nothing, validated, both branches simulated, published. */
async function buildGreeting(client: Client, slug: string): Promise<{ chainId: string; transcript: string[] }> {
  const transcript: string[] = [];
  const step = async (name: string, args: Record<string, unknown>) => {
    const answer = await ok(client, name, args);
    transcript.push(`→ ${name} ${JSON.stringify(args)}`, `← ${JSON.stringify(abridged(name, answer))}`);
    return answer;
  };
  const types = await ok(client, 'list_node_types');
  expect(types.items.map((i: { type: string }) => i.type)).toEqual(expect.arrayContaining(['start', 'ask', 'condition', 'message', 'end']));
  const askType = types.items.find((i: { type: string }) => i.type === 'ask');
  expect(askType.configSchema.properties).toHaveProperty('prompt');

  const created = await step('create_chain', { name: 'Greeting by MCP', slug });
  const chain = created.slug as string;
  expect(created.draftRevision).toBe(1);
  // From nothing: the default draft's nodes go, ours come.
  for (const node of created.draft.nodes as { id: string }[]) await step('remove_node', { chain, nodeId: node.id });

  await step('declare_variables', { chain, variables: [{ name: 'user.name', type: 'string', description: 'How the bot addresses the user' }] });
  const nodes = [
    { id: 'start_any', type: 'start', data: { trigger: { kind: 'any' } }, label: 'Any message' },
    { id: 'name_known', type: 'condition', data: { rules: { condition: 'AND', rules: [{ field: 'user.name', operator: 'is_not_empty' }] } } },
    { id: 'welcome_back', type: 'message', data: { text: 'Welcome back, {{ user.name }}!' } },
    { id: 'ask_name', type: 'ask', data: { prompt: "Hi! I'm the greeting bot. What's your name?", variable: 'user.name' } },
    { id: 'reply_new', type: 'message', data: { text: 'Nice to meet you, {{ user.name }}!' } },
    { id: 'done', type: 'end', data: { outcome: 'greeted' } },
  ];
  for (const [i, node] of nodes.entries()) await step('add_node', { chain, node: { ...node, position: { x: i * 240, y: 0 } } });

  // The compiler reports the unconnected draft, by node.
  const partial = await ok(client, 'validate', { chain });
  expect(partial.ok).toBe(false);

  // Ports are checked before anything is saved.
  const wrongPort = await call(client, 'connect', { chain, source: 'ask_name', sourcePort: 'yes', target: 'reply_new' });
  expect(wrongPort.isError).toBe(true);
  expect(wrongPort.text).toContain('sourcePort');
  expect(wrongPort.text).toContain('"next"');

  for (const [source, sourcePort, target] of [
    ['start_any', 'next', 'name_known'],
    ['name_known', 'true', 'welcome_back'],
    ['name_known', 'false', 'ask_name'],
    ['ask_name', 'next', 'reply_new'],
    ['reply_new', 'next', 'done'],
    ['welcome_back', 'next', 'done'],
  ] as const) {
    await step('connect', { chain, source, sourcePort, target });
  }
  const validation = await step('validate', { chain });
  expect(validation).toMatchObject({ ok: true, errors: [] });

  // The unknown-name branch: asked, answered, greeted.
  const first = await step('simulate', { chain, visitorId: 'ann', reset: true, text: 'hi' });
  expect(first.replies.map((r: { text: string }) => r.text)).toEqual(["Hi! I'm the greeting bot. What's your name?"]);
  expect(first.waitingAt).toBe('ask_name');
  const named = await step('simulate', { chain, visitorId: 'ann', text: 'Ann' });
  expect(named.replies.map((r: { text: string }) => r.text)).toEqual(['Nice to meet you, Ann!']);
  expect(named.ended).toBe(true);
  // The known-name branch: the same simulated user comes back.
  const again = await step('simulate', { chain, visitorId: 'ann', reset: true, text: 'hello again' });
  expect(again.replies.map((r: { text: string }) => r.text)).toEqual(['Welcome back, Ann!']);

  const version = await step('publish', { chain, note: 'Greeting built by an assistant' });
  expect(version).toMatchObject({ number: 1, active: true, note: 'Greeting built by an assistant' });
  const versions = await ok(client, 'list_versions', { chain });
  expect(versions.total).toBe(1);
  const exported = await ok(client, 'export_chain', { chain });
  expect(exported.file).toContain('ask_name');
  const got = await ok(client, 'get_chain', { chain });
  expect(got.activeVersion).toMatchObject({ number: 1 });
  expect(got.validation.ok).toBe(true);
  return { chainId: got.id, transcript };
}

describe.each(['http', 'stdio'] as const)('MCP over %s', (kind) => {
  it('lets an assistant build, test and publish the greeting chain from nothing', async () => {
    const { token } = await createToken(editor, ['read', 'edit', 'publish', 'runs'], `assistant-${kind}`);
    const client = await connect(kind, token);
    try {
      const { chainId, transcript } = await buildGreeting(client, `greeting-mcp-${kind}`);
      // MCP_TRANSCRIPT=<file>: keep the build for docs/mcp.md.
      if (process.env.MCP_TRANSCRIPT && kind === 'stdio') writeFileSync(process.env.MCP_TRANSCRIPT, `${transcript.join('\n')}\n`);
      const stored = await em().findOneOrFail(ChainSchema, { id: chainId });
      expect(stored.ownerId).toBe(editor.id);
      expect(stored.activeVersionId).not.toBeNull();
      const listed = await ok(client, 'list_chains', { q: `greeting-mcp-${kind}` });
      expect(listed.items.map((c: { slug: string }) => c.slug)).toEqual([`greeting-mcp-${kind}`]);
      // Resources and prompts: what to read before building.
      const resources = await client.listResources();
      expect(resources.resources.map((r) => r.uri)).toEqual(expect.arrayContaining(['chainflow://docs/chain-language', 'chainflow://node-types/ask']));
      const ask = await client.readResource({ uri: 'chainflow://node-types/ask' });
      expect((ask.contents[0] as { text: string }).text).toContain('`invalid`');
      const prompt = await client.getPrompt({ name: 'build_bot', arguments: { goal: 'greets by name' } });
      expect(JSON.stringify(prompt.messages)).toContain('greets by name');
    } finally {
      await client.close();
    }
  });

  it("answers a malformed tool call with an MCP error naming the argument, and changes nothing", async () => {
    const { token } = await createToken(editor, ['read', 'edit'], `malformed-${kind}`);
    const client = await connect(kind, token);
    try {
      const created = await ok(client, 'create_chain', { name: `Malformed ${kind}` });
      const before = await em().findOneOrFail(ChainSchema, { id: created.id });
      const missingType = await call(client, 'add_node', { chain: created.slug, node: { id: 'x' } });
      expect(missingType.isError).toBe(true);
      expect(missingType.text).toContain('MCP error -32602');
      expect(missingType.text).toContain('node.type');
      const wrongType = await call(client, 'simulate', { chain: created.slug, visitorId: 'not ok!', text: 'hi' });
      expect(wrongType.isError).toBe(true);
      expect(wrongType.text).toContain('visitorId');
      const unknownNode = await call(client, 'update_node', { chain: created.slug, nodeId: 'nope', label: 'x' });
      expect(unknownNode.isError).toBe(true);
      expect(unknownNode.text).toContain('nodeId: No node "nope"');
      const after = await em().findOneOrFail(ChainSchema, { id: created.id });
      expect(after.draftRevision).toBe(before.draftRevision);
    } finally {
      await client.close();
    }
  });

  it("gives a viewer's token no way to change anything", async () => {
    const created = (await t.api.post('/api/v1/chains').set(bearer(editor.token)).send({ name: `Shared ${kind}` })).body as { id: string; slug: string };
    const share = await t.api.post(`/api/v1/chains/${created.id}/grants`).set(bearer(editor.token)).send({ userId: viewer.id, role: 'viewer' });
    expect(share.status).toBe(200);

    const { token } = await createToken(viewer, ['read', 'edit', 'publish', 'runs'], `viewer-${kind}`);
    const client = await connect(kind, token);
    try {
      const seen = await ok(client, 'get_chain', { chain: created.slug });
      expect(seen.role).toBe('viewer');
      const before = await em().findOneOrFail(ChainSchema, { id: created.id });
      const attempts: [string, Record<string, unknown>][] = [
        ['add_node', { chain: created.slug, node: { id: 'extra', type: 'message', data: { text: 'x' } } }],
        ['remove_node', { chain: created.slug, nodeId: 'hello' }],
        ['connect', { chain: created.slug, source: 'hello', target: 'start' }],
        ['declare_variables', { chain: created.slug, variables: [{ name: 'user.x' }] }],
        ['publish', { chain: created.slug, note: 'no' }],
        ['simulate', { chain: created.slug, text: 'hi' }],
        ['create_chain', { name: 'Not mine' }],
      ];
      for (const [name, args] of attempts) {
        const answer = await call(client, name, args);
        expect(answer.isError, `${name} must be refused`).toBe(true);
        expect(answer.text, name).toMatch(/forbidden \(403\)/);
      }
      const after = await em().findOneOrFail(ChainSchema, { id: created.id });
      expect({ revision: after.draftRevision, active: after.activeVersionId ?? null }).toEqual({ revision: before.draftRevision, active: before.activeVersionId ?? null });
    } finally {
      await client.close();
    }
  });

  it('ends access the moment the token is revoked', async () => {
    const { id, token } = await createToken(editor, ['read'], `revoked-${kind}`);
    const client = await connect(kind, token);
    try {
      await ok(client, 'list_chains');
      const revoked = await t.api.delete(`/api/v1/auth/tokens/${id}`).set(bearer(editor.token));
      expect(revoked.status).toBe(204);
      if (kind === 'http') {
        await expect(client.callTool({ name: 'list_chains', arguments: {} })).rejects.toThrow(/401|revoked/);
      } else {
        const answer = await call(client, 'list_chains');
        expect(answer.isError).toBe(true);
        expect(answer.text).toContain('token_revoked (401)');
      }
    } finally {
      await client.close();
    }
  });
});

describe('the /mcp endpoint', () => {
  it('answers 401 with WWW-Authenticate pointing at the protected-resource metadata', async () => {
    const res = await fetch(`${base}/mcp`, { method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' }, body: '{"jsonrpc":"2.0","id":1,"method":"ping"}' });
    expect(res.status).toBe(401);
    const challenge = res.headers.get('www-authenticate') ?? '';
    expect(challenge).toMatch(/^Bearer /);
    const metadataUrl = /resource_metadata="([^"]+)"/.exec(challenge)?.[1];
    expect(metadataUrl).toBe(`${base}/.well-known/oauth-protected-resource/mcp`);
    const metadata = await (await fetch(metadataUrl!)).json();
    expect(metadata).toMatchObject({ resource: `${base}/mcp`, bearer_methods_supported: ['header'], scopes_supported: ['read', 'edit', 'publish', 'runs'] });
    // A session token is not a personal access token.
    const session = await fetch(`${base}/mcp`, { method: 'POST', headers: { ...bearer(editor.token), 'Content-Type': 'application/json' }, body: '{}' });
    expect(session.status).toBe(401);
    expect(await session.json()).toMatchObject({ error: 'token_invalid' });
    // A token without the read scope cannot use the server at all.
    const { token } = await createToken(editor, ['runs'], 'runs-only');
    const noRead = await fetch(`${base}/mcp`, { method: 'POST', headers: { ...bearer(token), 'Content-Type': 'application/json' }, body: '{}' });
    expect(noRead.status).toBe(403);
    expect(noRead.headers.get('www-authenticate')).toContain('error="insufficient_scope", scope="read"');
  });
});

describe('personal access tokens', () => {
  it('are shown once, stored hashed, listed without secrets and audited', async () => {
    const created = await t.api.post('/api/v1/auth/tokens').set(bearer(editor.token)).send({ name: 'ci', scopes: ['read'], expiresAt: new Date(Date.now() + 86_400_000).toISOString() });
    expect(created.status).toBe(201);
    expect(created.body.token).toMatch(/^cfp_/);
    const row = await em().findOneOrFail(PersonalTokenSchema, { id: created.body.id });
    expect(row.tokenHash).not.toContain(created.body.token);
    expect(JSON.stringify(row)).not.toContain(created.body.token);
    const list = await t.api.get('/api/v1/auth/tokens').set(bearer(editor.token));
    expect(list.status).toBe(200);
    const listed = list.body.items.find((i: { id: string }) => i.id === created.body.id);
    expect(listed).toMatchObject({ name: 'ci', scopes: ['read'], revokedAt: null });
    expect(JSON.stringify(list.body)).not.toContain(created.body.token);
    const me = await t.api.get('/api/v1/auth/me').set(bearer(created.body.token));
    expect(me.body.id).toBe(editor.id);
    const audit = await em().find(AuditEntrySchema, { targetId: created.body.id });
    expect(audit.map((a) => a.action)).toContain('auth.token_create');
    expect(JSON.stringify(audit)).not.toContain(created.body.token);
  });

  it('are limited to their scopes on the REST API, and cannot make tokens', async () => {
    const { token } = await createToken(editor, ['read'], 'read-only');
    const chain = await t.api.post('/api/v1/chains').set(bearer(editor.token)).send({ name: 'Scoped' });
    expect(chain.status).toBe(201);
    expect((await t.api.get(`/api/v1/chains/${chain.body.id}`).set(bearer(token))).status).toBe(200);
    const put = await t.api.put(`/api/v1/chains/${chain.body.id}/draft`).set(bearer(token)).send({ revision: 1, graph: chain.body.draft });
    expect(put.status).toBe(403);
    expect(put.body).toMatchObject({ error: 'insufficient_scope' });
    expect(put.body.message).toContain("'edit'");
    const publish = await t.api.post(`/api/v1/chains/${chain.body.id}/publish`).set(bearer(token)).send({});
    expect(publish.body).toMatchObject({ error: 'insufficient_scope' });
    const mint = await t.api.post('/api/v1/auth/tokens').set(bearer(token)).send({ name: 'more', scopes: ['read', 'edit'] });
    expect(mint.status).toBe(403);
    expect(mint.body).toMatchObject({ error: 'session_required' });
  });

  it('refuse bad input naming the field, and expired tokens', async () => {
    const noScopes = await t.api.post('/api/v1/auth/tokens').set(bearer(editor.token)).send({ name: 'x', scopes: [] });
    expect(noScopes.status).toBe(400);
    expect(noScopes.body.message).toContain('body.scopes');
    const badScope = await t.api.post('/api/v1/auth/tokens').set(bearer(editor.token)).send({ name: 'x', scopes: ['admin'] });
    expect(badScope.status).toBe(400);
    const past = await t.api.post('/api/v1/auth/tokens').set(bearer(editor.token)).send({ name: 'x', scopes: ['read'], expiresAt: '2020-01-01T00:00:00Z' });
    expect(past.status).toBe(400);
    expect(past.body.message).toContain('body.expiresAt');
    const { id, token } = await createToken(editor, ['read'], 'soon-expired');
    await em().nativeUpdate(PersonalTokenSchema, { id }, { expiresAt: new Date(Date.now() - 1000) });
    const expired = await t.api.get('/api/v1/chains').set(bearer(token));
    expect(expired.status).toBe(401);
    expect(expired.body).toMatchObject({ error: 'token_expired' });
    const otherUsers = await t.api.delete(`/api/v1/auth/tokens/${id}`).set(bearer(viewer.token));
    expect(otherUsers.status).toBe(404);
  });

  it('name only operations that exist in their scope tables', () => {
    const ids = new Set<string>();
    for (const path of Object.values(openApiDocument().paths ?? {})) {
      for (const op of Object.values(path as Record<string, { operationId?: string }>)) if (op?.operationId) ids.add(op.operationId);
    }
    expect(scopedOperationIds.filter((id) => !ids.has(id))).toEqual([]);
  });
});

describe('edit tools', () => {
  it('apply an edit again to the new draft when someone else saved in between (stale revision)', async () => {
    const { token } = await createToken(editor, ['read', 'edit'], 'racing');
    const real = apiClient(base, token);
    const created = await real.call<{ id: string; slug: string }>('POST', '/chains', { body: { name: 'Raced' } });
    let raced = false;
    // The API is real; between the tool's read and its save, another editor saves.
    const racing: ApiClient = {
      async call(method, path, request) {
        if (method === 'PUT' && !raced) {
          raced = true;
          const current = await real.call<{ draftRevision: number; draft: Record<string, unknown> }>('GET', `/chains/${created.id}`);
          await real.call('PUT', `/chains/${created.id}/draft`, { body: { revision: current.draftRevision, graph: { ...current.draft, description: 'edited elsewhere' } } });
        }
        return real.call(method, path, request);
      },
    };
    const mcp = createMcpServer(racing);
    const [serverSide, clientSide] = InMemoryTransport.createLinkedPair();
    await mcp.connect(serverSide);
    const client = new Client({ name: 'racing-assistant', version: '1.0.0' });
    await client.connect(clientSide);
    try {
      const answer = await ok(client, 'add_node', { chain: created.slug, node: { id: 'later', type: 'message', data: { text: 'Later' } } });
      expect(answer).toMatchObject({ revision: 3, retried: true });
      const stored = await em().findOneOrFail(ChainSchema, { id: created.id });
      expect(stored.description).toBe('edited elsewhere');
      expect((stored.draftGraph as { nodes: { id: string }[] }).nodes.map((n) => n.id)).toContain('later');
    } finally {
      await client.close();
    }
  });
});

describe('the live-events WebSocket', () => {
  it('takes a personal access token as its bearer and closes when it is revoked', async () => {
    const chain = await t.api.post('/api/v1/chains').set(bearer(editor.token)).send({ name: 'Watched' });
    const { id, token } = await createToken(editor, ['read'], 'watcher');
    const port = (server.address() as AddressInfo).port;
    const ws = new WebSocket(`ws://127.0.0.1:${port}/api/v1/ws`, { headers: { authorization: `Bearer ${token}` } });
    const messages: { type: string }[] = [];
    let closed: number | undefined;
    ws.on('message', (raw) => messages.push(JSON.parse(String(raw)) as { type: string }));
    ws.on('close', (code) => (closed = code));
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.send(JSON.stringify({ type: 'subscribe', chainId: chain.body.id }));
    await eventually(async () => messages.find((m) => m.type === 'subscribed'), 'the subscription');
    await t.api.delete(`/api/v1/auth/tokens/${id}`).set(bearer(editor.token));
    expect(await eventually(async () => closed, 'the socket to close')).toBe(4401);
  });

  it('refuses to stream to a token without the read scope', async () => {
    const chain = await t.api.post('/api/v1/chains').set(bearer(editor.token)).send({ name: 'Unwatched' });
    const { token } = await createToken(editor, ['runs'], 'no-read');
    const port = (server.address() as AddressInfo).port;
    const ws = new WebSocket(`ws://127.0.0.1:${port}/api/v1/ws`, { headers: { authorization: `Bearer ${token}` } });
    const messages: { type: string; message?: string }[] = [];
    ws.on('message', (raw) => messages.push(JSON.parse(String(raw)) as { type: string }));
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.send(JSON.stringify({ type: 'subscribe', chainId: chain.body.id }));
    const error = await eventually(async () => messages.find((m) => m.type === 'error'), 'the refusal');
    expect(error.message).toBe('You may not watch this run or chain.');
    ws.close();
  });
});
