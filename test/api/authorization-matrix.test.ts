// The authorization matrix: every route registered on the app × every kind of caller →
// the status it must answer. The routes come from walking the Express router, so a new
// route without a row here fails the first test.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { currentTotp } from '../../api/auth/totp.ts';
import { ChainSchema } from '../../db/entities.ts';
import { apiGraph, botToken } from './support/fixtures.ts';
import { bearer, createAccount, PASSWORD, registerAdmin, simpleGraph, startApi, uniqueEmail, type Account, type ApiHarness } from './support/api.ts';
import { registeredRoutes } from './support/routes.ts';
import { BUILTIN_PLUGINS_DIR, PluginRegistry } from '../../lib/plugins/host.ts';
import { setProcessPlugins } from '../../lib/plugins/process.ts';
import { PluginState, setProcessPluginState } from '../../lib/plugins/state.ts';

type Actor = 'anonymous' | 'viewer' | 'editor' | 'owner' | 'other' | 'admin';
const ACTORS: Actor[] = ['anonymous', 'viewer', 'editor', 'owner', 'other', 'admin'];
type Expected = Record<Actor, number>;

/**
 * The callers: `owner` owns the chain under test (a global editor); `editor` and `viewer`
 * hold those grants on it (global roles editor and viewer); `other` is a global editor
 * with no access to it ("another user's resource"); `admin` may do everything.
 */
interface Fixture {
  accounts: Record<Exclude<Actor, 'anonymous'>, Account>;
  /** A user the calls act upon (signs in, gets shared, gets looked up). */
  bystander: Account;
  /** Published, web chat disabled, shared with `editor` (editor) and `viewer` (viewer). */
  chain: { id: string; slug: string };
  /** Like `chain`, with an API start and two published versions; `run` is a session of it. */
  apiChain: { id: string; slug: string; versions: [string, string] };
  run: string;
  /** Owned by `owner`, shared like `chain`. */
  bot: string;
  /** Owned by `owner`, shared with `editor` (manage) and `viewer` (use). */
  credential: string;
}

interface Call {
  url: string;
  body?: unknown;
  /** Raw body with its content type (chain files). */
  raw?: { type: string; text: string };
  /** Replaces the actor's token (undefined keeps it; null sends none). */
  token?: string | null;
}

interface Row {
  expect: Expected;
  call(actor: Actor, token: string | undefined): Promise<Call> | Call;
  /** Runs after each call (e.g. to keep an actor's token fresh). */
  after?(actor: Actor, body: Record<string, unknown>, status: number): void;
}

const every = (status: number): Expected => ({ anonymous: status, viewer: status, editor: status, owner: status, other: status, admin: status });
const signedIn = (status: number): Expected => ({ ...every(status), anonymous: 401 });
const adminOnly = (status: number): Expected => ({ anonymous: 401, viewer: 403, editor: 403, owner: 403, other: 403, admin: status });
const creators = (status: number): Expected => ({ anonymous: 401, viewer: 403, editor: status, owner: status, other: status, admin: status });
const chainViewers = (status: number): Expected => ({ anonymous: 401, viewer: status, editor: status, owner: status, other: 404, admin: status });
const chainEditors = (status: number): Expected => ({ anonymous: 401, viewer: 403, editor: status, owner: status, other: 404, admin: status });
const chainOwners = (status: number): Expected => ({ anonymous: 401, viewer: 403, editor: 403, owner: status, other: 404, admin: status });
const botViewers = chainViewers;
const botEditors = chainEditors;
const botOwners = chainOwners;
/** Credentials have owners and grants: `use` (viewer here) reads, `manage` (editor here) changes, the owner shares and deletes. */
const credentialUsers = chainViewers;
const credentialManagers = chainEditors;
const credentialOwners = chainOwners;
/** Web chat of a chain without public web chat: only those who may edit it (the editor's JWT). */
const webChatEditors: Expected = { anonymous: 403, viewer: 403, editor: 200, owner: 200, other: 403, admin: 200 };

let t: ApiHarness;
let fx: Fixture;

const roleOf = (actor: Actor): Account['role'] => (actor === 'admin' ? 'admin' : actor === 'viewer' ? 'viewer' : 'editor');

async function freshChain(): Promise<string> {
  const { owner, editor, viewer } = fx.accounts;
  const created = await t.api.post('/api/v1/chains?onConflict=rename').set(bearer(owner.token)).send({ graph: simpleGraph('fresh') });
  await t.api.post(`/api/v1/chains/${created.body.id}/grants`).set(bearer(owner.token)).send({ userId: editor.id, role: 'editor' });
  await t.api.post(`/api/v1/chains/${created.body.id}/grants`).set(bearer(owner.token)).send({ userId: viewer.id, role: 'viewer' });
  return created.body.id;
}

/** A session of the API chain, started through the API by its owner. */
async function freshRun(): Promise<string> {
  const res = await t.api.post('/api/v1/runs').set(bearer(fx.accounts.owner.token)).send({ chain: fx.apiChain.id });
  if (res.status !== 201) throw new Error(`starting a run failed: ${res.status} ${JSON.stringify(res.body)}`);
  return encodeURIComponent(String(res.body.id));
}

async function freshBot(): Promise<string> {
  const { owner, editor, viewer } = fx.accounts;
  const created = await t.api.post('/api/v1/bots').set(bearer(owner.token)).send({ name: 'Matrix bot', kind: 'telegram_bot', token: botToken() });
  await t.api.post(`/api/v1/bots/${created.body.id}/grants`).set(bearer(owner.token)).send({ userId: editor.id, role: 'editor' });
  await t.api.post(`/api/v1/bots/${created.body.id}/grants`).set(bearer(owner.token)).send({ userId: viewer.id, role: 'viewer' });
  return created.body.id;
}

let botCommands = 0;
/** A command of the fixture bot bound to the fixture chain, made by its owner. */
async function freshCommand(): Promise<string> {
  const command = `f${++botCommands}`;
  const res = await t.api.post(`/api/v1/bots/${fx.bot}/commands`).set(bearer(fx.accounts.owner.token)).send({ command, chainId: fx.chain.id, description: 'Matrix command' });
  if (res.status !== 201) throw new Error(`binding a command failed: ${res.status} ${JSON.stringify(res.body)}`);
  return command;
}

let credentials = 0;
/** A credential of `owner`, shared with `editor` (manage) and `viewer` (use). */
async function freshCredential(): Promise<string> {
  const { owner, editor, viewer } = fx.accounts;
  const created = await t.api.post('/api/v1/credentials').set(bearer(owner.token)).send({ name: `matrix_${++credentials}_${Date.now()}`, kind: 'secret', value: 'matrix secret value' });
  await t.api.post(`/api/v1/credentials/${created.body.id}/grants`).set(bearer(owner.token)).send({ userId: editor.id, role: 'manage' });
  await t.api.post(`/api/v1/credentials/${created.body.id}/grants`).set(bearer(owner.token)).send({ userId: viewer.id, role: 'use' });
  return created.body.id;
}

let kb = '';
let kbDoc = '';
/** A knowledge base of `owner` (full text only), shared with `editor` and `viewer`. */
async function freshBase(): Promise<string> {
  const { owner, editor, viewer } = fx.accounts;
  const created = await t.api.post('/api/v1/knowledge-bases').set(bearer(owner.token)).send({ name: `Matrix KB ${Date.now()}` });
  await t.api.post(`/api/v1/knowledge-bases/${created.body.id}/grants`).set(bearer(owner.token)).send({ userId: editor.id, role: 'editor' });
  await t.api.post(`/api/v1/knowledge-bases/${created.body.id}/grants`).set(bearer(owner.token)).send({ userId: viewer.id, role: 'viewer' });
  return created.body.id;
}
let kbDocs = 0;
async function freshDocument(): Promise<string> {
  const res = await t.api.post(`/api/v1/knowledge-bases/${kb}/documents?name=doc-${++kbDocs}.md`).set(bearer(fx.accounts.owner.token)).set('Content-Type', 'text/markdown').send(`# Doc ${kbDocs}\n\nText ${Date.now()}`);
  return res.body.id;
}

const freshAccount = (actor: Actor) => createAccount(t.api, fx.accounts.admin, roleOf(actor), `fresh-${actor}`);

async function revision(): Promise<number> {
  return (await t.h.db.orm.em.fork().findOneOrFail(ChainSchema, { id: fx.chain.id })).draftRevision;
}

const matrix: Record<string, Row> = {
  'GET /health': { expect: every(200), call: () => ({ url: '/health' }) },
  'GET /ready': { expect: every(200), call: () => ({ url: '/ready' }) },
  'GET /docs': { expect: every(200), call: () => ({ url: '/docs' }) },
  'GET /docs/init.js': { expect: every(200), call: () => ({ url: '/docs/init.js' }) },
  'GET /api/v1/info': { expect: every(200), call: () => ({ url: '/api/v1/info' }) },
  'GET /api/v1/openapi.json': { expect: every(200), call: () => ({ url: '/api/v1/openapi.json' }) },

  'GET /api/v1/auth/status': { expect: every(200), call: () => ({ url: '/api/v1/auth/status' }) },
  // Webhooks authenticate by the trigger's secret, not by account: the fixture chain has none.
  'POST /api/v1/hooks/:chainIdOrSlug/:hookId': { expect: every(404), call: () => ({ url: `/api/v1/hooks/${fx.chain.slug}/no-such-hook`, raw: { type: 'application/json', text: '{}' } }) },
  // Telegram webhooks authenticate by the bot's secret token, not by account: the fixture bot polls.
  'POST /api/v1/telegram/:botId/webhook': { expect: every(404), call: () => ({ url: `/api/v1/telegram/${fx.bot}/webhook`, raw: { type: 'application/json', text: '{"update_id":1}' } }) },
  'POST /api/v1/auth/register': { expect: every(201), call: () => ({ url: '/api/v1/auth/register', body: { email: uniqueEmail('reg'), password: PASSWORD } }) },
  'POST /api/v1/auth/login': { expect: every(200), call: () => ({ url: '/api/v1/auth/login', body: { email: fx.bystander.email, password: PASSWORD } }) },
  'POST /api/v1/auth/refresh': {
    expect: every(200),
    call: async () => {
      const session = await t.api.post('/api/v1/auth/login').send({ email: fx.bystander.email, password: PASSWORD });
      return { url: '/api/v1/auth/refresh', body: { refreshToken: session.body.refreshToken } };
    },
  },
  'POST /api/v1/auth/logout': {
    expect: every(204),
    call: async () => {
      const session = await t.api.post('/api/v1/auth/login').send({ email: fx.bystander.email, password: PASSWORD });
      return { url: '/api/v1/auth/logout', body: { refreshToken: session.body.refreshToken } };
    },
  },
  'GET /api/v1/auth/me': { expect: signedIn(200), call: () => ({ url: '/api/v1/auth/me' }) },
  // Personal access tokens: each caller's own (issue 20).
  'POST /api/v1/auth/tokens': { expect: signedIn(201), call: () => ({ url: '/api/v1/auth/tokens', body: { name: 'matrix', scopes: ['read'] } }) },
  'GET /api/v1/auth/tokens': { expect: signedIn(200), call: () => ({ url: '/api/v1/auth/tokens' }) },
  'DELETE /api/v1/auth/tokens/:id': {
    expect: signedIn(204),
    call: async (actor) => {
      const owner = actor === 'anonymous' ? fx.bystander : fx.accounts[actor];
      const created = await t.api.post('/api/v1/auth/tokens').set(bearer(owner.token)).send({ name: 'matrix', scopes: ['read'] });
      return { url: `/api/v1/auth/tokens/${created.body.id}` };
    },
  },
  // MCP takes personal access tokens only: sessions' access tokens are refused like no token.
  'POST /mcp': { expect: every(401), call: () => ({ url: '/mcp', body: { jsonrpc: '2.0', id: 1, method: 'ping' } }) },
  'GET /.well-known/oauth-protected-resource': { expect: every(200), call: () => ({ url: '/.well-known/oauth-protected-resource' }) },
  'GET /.well-known/oauth-protected-resource/mcp': { expect: every(200), call: () => ({ url: '/.well-known/oauth-protected-resource/mcp' }) },
  'POST /api/v1/auth/password': {
    expect: signedIn(200),
    // Same password again: the session is renewed, the actor keeps working with the new token.
    call: () => ({ url: '/api/v1/auth/password', body: { currentPassword: PASSWORD, newPassword: PASSWORD } }),
    after: (actor, body, status) => {
      if (actor !== 'anonymous' && status === 200) fx.accounts[actor].token = String(body.accessToken);
    },
  },
  'POST /api/v1/auth/totp/enrol': { expect: signedIn(200), call: () => ({ url: '/api/v1/auth/totp/enrol', body: { password: PASSWORD } }) },
  'POST /api/v1/auth/totp/confirm': {
    expect: signedIn(200),
    call: async (actor) => {
      if (actor === 'anonymous') return { url: '/api/v1/auth/totp/confirm', body: { code: '123456' } };
      const user = await freshAccount(actor);
      const enrol = await t.api.post('/api/v1/auth/totp/enrol').set(bearer(user.token)).send({ password: PASSWORD });
      return { url: '/api/v1/auth/totp/confirm', body: { code: currentTotp(enrol.body.secret) }, token: user.token };
    },
  },
  'POST /api/v1/auth/totp/disable': {
    expect: signedIn(200),
    call: async (actor) => {
      if (actor === 'anonymous') return { url: '/api/v1/auth/totp/disable', body: { password: PASSWORD, code: '123456' } };
      const user = await freshAccount(actor);
      const enrol = await t.api.post('/api/v1/auth/totp/enrol').set(bearer(user.token)).send({ password: PASSWORD });
      await t.api.post('/api/v1/auth/totp/confirm').set(bearer(user.token)).send({ code: currentTotp(enrol.body.secret) });
      return { url: '/api/v1/auth/totp/disable', body: { password: PASSWORD, code: currentTotp(enrol.body.secret, Date.now() + 30_000) }, token: user.token };
    },
  },

  'GET /api/v1/users': { expect: adminOnly(200), call: () => ({ url: '/api/v1/users' }) },
  'POST /api/v1/users': { expect: adminOnly(201), call: () => ({ url: '/api/v1/users', body: { email: uniqueEmail('made'), password: PASSWORD, role: 'viewer' } }) },
  'GET /api/v1/users/:id': { expect: adminOnly(200), call: () => ({ url: `/api/v1/users/${fx.bystander.id}` }) },
  'PATCH /api/v1/users/:id': { expect: adminOnly(200), call: () => ({ url: `/api/v1/users/${fx.bystander.id}`, body: { name: 'Renamed bystander' } }) },
  'DELETE /api/v1/users/:id': {
    expect: adminOnly(204),
    call: async () => ({ url: `/api/v1/users/${(await freshAccount('viewer')).id}` }),
  },
  'GET /api/v1/invites': { expect: adminOnly(200), call: () => ({ url: '/api/v1/invites' }) },
  'POST /api/v1/invites': { expect: adminOnly(201), call: () => ({ url: '/api/v1/invites', body: { role: 'viewer' } }) },
  'DELETE /api/v1/invites/:id': {
    expect: adminOnly(204),
    call: async () => {
      const invite = await t.api.post('/api/v1/invites').set(bearer(fx.accounts.admin.token)).send({ role: 'viewer' });
      return { url: `/api/v1/invites/${invite.body.invite.id}` };
    },
  },

  'GET /api/v1/chains': { expect: signedIn(200), call: () => ({ url: '/api/v1/chains' }) },
  'POST /api/v1/chains': { expect: creators(201), call: () => ({ url: '/api/v1/chains?onConflict=rename', body: { name: 'Matrix made' } }) },
  'POST /api/v1/chains/import': {
    expect: creators(201),
    call: () => ({ url: '/api/v1/chains/import?onConflict=rename', raw: { type: 'application/yaml', text: toYaml(simpleGraph('imported')) } }),
  },
  'GET /api/v1/chains/:id': { expect: chainViewers(200), call: () => ({ url: `/api/v1/chains/${fx.chain.id}` }) },
  'POST /api/v1/chains/:id/duplicate': { expect: chainEditors(201), call: () => ({ url: `/api/v1/chains/${fx.chain.id}/duplicate` }) },
  'PUT /api/v1/chains/:id/draft': {
    expect: chainEditors(200),
    call: async () => ({ url: `/api/v1/chains/${fx.chain.id}/draft`, body: { revision: await revision(), graph: simpleGraph(fx.chain.slug, 'Edited in the matrix') } }),
  },
  'DELETE /api/v1/chains/:id': { expect: chainOwners(204), call: async () => ({ url: `/api/v1/chains/${await freshChain()}` }) },
  'POST /api/v1/chains/:id/validate': { expect: chainViewers(200), call: () => ({ url: `/api/v1/chains/${fx.chain.id}/validate` }) },
  'POST /api/v1/chains/:id/publish': {
    expect: chainEditors(201),
    call: async (actor) => {
      // Each publish needs a draft that differs from every published version.
      const graph = simpleGraph(fx.chain.slug, `Published by ${actor}`);
      await t.api.put(`/api/v1/chains/${fx.chain.id}/draft`).set(bearer(fx.accounts.owner.token)).send({ revision: await revision(), graph });
      return { url: `/api/v1/chains/${fx.chain.id}/publish`, body: { note: 'matrix' } };
    },
  },
  'GET /api/v1/chains/:id/versions': { expect: chainViewers(200), call: () => ({ url: `/api/v1/chains/${fx.chain.id}/versions` }) },
  'GET /api/v1/chains/:id/versions/:number': { expect: chainViewers(200), call: () => ({ url: `/api/v1/chains/${fx.chain.id}/versions/1` }) },
  'GET /api/v1/chains/:id/diff': { expect: chainViewers(200), call: () => ({ url: `/api/v1/chains/${fx.chain.id}/diff?from=1&to=draft` }) },
  'POST /api/v1/chains/:id/rollback': { expect: chainEditors(200), call: () => ({ url: `/api/v1/chains/${fx.chain.id}/rollback`, body: { version: 1 } }) },
  'GET /api/v1/chains/:id/export': { expect: chainViewers(200), call: () => ({ url: `/api/v1/chains/${fx.chain.id}/export?format=json` }) },
  'GET /api/v1/chains/:id/grants': { expect: chainViewers(200), call: () => ({ url: `/api/v1/chains/${fx.chain.id}/grants` }) },
  'POST /api/v1/chains/:id/grants': { expect: chainOwners(200), call: () => ({ url: `/api/v1/chains/${fx.chain.id}/grants`, body: { userId: fx.bystander.id, role: 'viewer' } }) },
  'DELETE /api/v1/chains/:id/grants/:userId': {
    expect: chainOwners(204),
    call: async () => {
      await t.api.post(`/api/v1/chains/${fx.chain.id}/grants`).set(bearer(fx.accounts.owner.token)).send({ userId: fx.bystander.id, role: 'viewer' });
      return { url: `/api/v1/chains/${fx.chain.id}/grants/${fx.bystander.id}` };
    },
  },
  'POST /api/v1/chains/:id/simulate/:visitorId/messages': {
    expect: chainEditors(200),
    call: (actor) => ({ url: `/api/v1/chains/${fx.chain.id}/simulate/${actor}/messages`, body: { text: 'hi' } }),
  },
  'GET /api/v1/chains/:id/simulate/:visitorId/messages': { expect: chainEditors(200), call: (actor) => ({ url: `/api/v1/chains/${fx.chain.id}/simulate/${actor}/messages` }) },
  'DELETE /api/v1/chains/:id/simulate/:visitorId': { expect: chainEditors(204), call: (actor) => ({ url: `/api/v1/chains/${fx.chain.id}/simulate/${actor}` }) },
  'POST /api/v1/chains/:id/code/run': { expect: chainEditors(200), call: () => ({ url: `/api/v1/chains/${fx.chain.id}/code/run`, body: { source: 'function main() { return 1 }', timeoutMs: 1000, memoryMb: 32 } }) },

  'GET /api/v1/node-types': { expect: signedIn(200), call: () => ({ url: '/api/v1/node-types' }) },
  'GET /api/v1/plugin-tabs': { expect: signedIn(200), call: () => ({ url: '/api/v1/plugin-tabs' }) },
  // The weather plugin (the bundled one with a tab) has a command, so it waits for an
  // admin; it is enabled by a row further down: here its tab has no files (public either way).
  'GET /api/v1/plugin-tabs/:id/*file': { expect: every(404), call: () => ({ url: '/api/v1/plugin-tabs/weather/index.html' }) },
  'GET /api/v1/audit': { expect: adminOnly(200), call: () => ({ url: '/api/v1/audit' }) },
  'GET /api/v1/audit/export': { expect: adminOnly(200), call: () => ({ url: '/api/v1/audit/export' }) },

  'GET /metrics': { expect: every(200), call: () => ({ url: '/metrics' }) },

  'GET /api/v1/runs': { expect: signedIn(200), call: () => ({ url: '/api/v1/runs' }) },
  'POST /api/v1/runs': { expect: chainEditors(201), call: () => ({ url: '/api/v1/runs', body: { chain: fx.apiChain.id, input: { from: 'matrix' } } }) },
  'POST /api/v1/runs/cancel': { expect: chainEditors(202), call: () => ({ url: '/api/v1/runs/cancel', body: { chainId: fx.apiChain.id, versionId: fx.apiChain.versions[0] } }) },
  'POST /api/v1/runs/migrate': {
    expect: chainEditors(200),
    call: () => ({ url: '/api/v1/runs/migrate', body: { fromVersionId: fx.apiChain.versions[0], toVersionId: fx.apiChain.versions[1], dryRun: true } }),
  },
  'GET /api/v1/runs/:id': { expect: chainViewers(200), call: () => ({ url: `/api/v1/runs/${fx.run}` }) },
  'GET /api/v1/runs/:id/events': { expect: chainViewers(200), call: () => ({ url: `/api/v1/runs/${fx.run}/events` }) },
  'POST /api/v1/runs/:id/messages': { expect: chainEditors(202), call: async () => ({ url: `/api/v1/runs/${await freshRun()}/messages`, body: { text: 'hi' } }) },
  'POST /api/v1/runs/:id/cancel': { expect: chainEditors(202), call: async () => ({ url: `/api/v1/runs/${await freshRun()}/cancel`, body: { reason: 'matrix' } }) },
  // Nothing waits for an approval in a fresh run of the API chain: 409 after the role check.
  'POST /api/v1/runs/:id/approvals': { expect: chainEditors(409), call: async () => ({ url: `/api/v1/runs/${await freshRun()}/approvals`, body: { callId: 'call_matrix', approved: true } }) },
  'POST /api/v1/runs/:id/terminate': { expect: chainEditors(200), call: async () => ({ url: `/api/v1/runs/${await freshRun()}/terminate` }) },

  'GET /api/v1/bots': { expect: signedIn(200), call: () => ({ url: '/api/v1/bots' }) },
  'POST /api/v1/bots': { expect: creators(201), call: () => ({ url: '/api/v1/bots', body: { name: 'Made in the matrix', kind: 'telegram_bot', token: botToken() } }) },
  'GET /api/v1/bots/:id': { expect: botViewers(200), call: () => ({ url: `/api/v1/bots/${fx.bot}` }) },
  'PATCH /api/v1/bots/:id': { expect: botEditors(200), call: (actor) => ({ url: `/api/v1/bots/${fx.bot}`, body: { name: `Renamed by ${actor}` } }) },
  'DELETE /api/v1/bots/:id': { expect: botOwners(204), call: async () => ({ url: `/api/v1/bots/${await freshBot()}` }) },
  'GET /api/v1/bots/:id/grants': { expect: botViewers(200), call: () => ({ url: `/api/v1/bots/${fx.bot}/grants` }) },
  'POST /api/v1/bots/:id/grants': { expect: botOwners(200), call: () => ({ url: `/api/v1/bots/${fx.bot}/grants`, body: { userId: fx.bystander.id, role: 'viewer' } }) },
  // Commands bound to another chain (bot_command): one fresh command per call.
  'GET /api/v1/bots/:id/commands': { expect: botViewers(200), call: () => ({ url: `/api/v1/bots/${fx.bot}/commands` }) },
  'POST /api/v1/bots/:id/commands': { expect: botEditors(201), call: () => ({ url: `/api/v1/bots/${fx.bot}/commands`, body: { command: `m${++botCommands}`, chainId: fx.chain.id, description: 'Made in the matrix' } }) },
  'GET /api/v1/bots/:id/commands/:command': { expect: botViewers(200), call: async () => ({ url: `/api/v1/bots/${fx.bot}/commands/${await freshCommand()}` }) },
  'PATCH /api/v1/bots/:id/commands/:command': { expect: botEditors(200), call: async () => ({ url: `/api/v1/bots/${fx.bot}/commands/${await freshCommand()}`, body: { description: 'Changed in the matrix' } }) },
  'DELETE /api/v1/bots/:id/commands/:command': { expect: botEditors(204), call: async () => ({ url: `/api/v1/bots/${fx.bot}/commands/${await freshCommand()}` }) },
  // User-account login steps need the editor role; on a telegram_bot they are refused (400) after the check.
  'POST /api/v1/bots/:id/account/login': { expect: botEditors(400), call: () => ({ url: `/api/v1/bots/${fx.bot}/account/login`, body: { apiId: 12345, apiHash: '0123456789abcdef0123456789abcdef', phone: '+4915112345678' } }) },
  'POST /api/v1/bots/:id/account/login/code': { expect: botEditors(400), call: () => ({ url: `/api/v1/bots/${fx.bot}/account/login/code`, body: { code: '12345' } }) },
  'POST /api/v1/bots/:id/account/login/password': { expect: botEditors(400), call: () => ({ url: `/api/v1/bots/${fx.bot}/account/login/password`, body: { password: 'matrix' } }) },
  'POST /api/v1/bots/:id/account/session': { expect: botEditors(400), call: () => ({ url: `/api/v1/bots/${fx.bot}/account/session`, body: { apiId: 12345, apiHash: '0123456789abcdef0123456789abcdef', sessionString: 'A'.repeat(40) } }) },
  'POST /api/v1/bots/:id/account/logout': { expect: botEditors(400), call: () => ({ url: `/api/v1/bots/${fx.bot}/account/logout` }) },
  'DELETE /api/v1/bots/:id/grants/:userId': {
    expect: botOwners(204),
    call: async () => {
      await t.api.post(`/api/v1/bots/${fx.bot}/grants`).set(bearer(fx.accounts.owner.token)).send({ userId: fx.bystander.id, role: 'viewer' });
      return { url: `/api/v1/bots/${fx.bot}/grants/${fx.bystander.id}` };
    },
  },

  // Access row 2: credentials are listed, read, changed and shared only by their owner, admins and grantees.
  'GET /api/v1/credentials': { expect: signedIn(200), call: () => ({ url: '/api/v1/credentials' }) },
  'POST /api/v1/credentials': { expect: creators(201), call: () => ({ url: '/api/v1/credentials', body: { name: `made_${++credentials}_${Date.now()}`, kind: 'secret', value: 'a secret value' } }) },
  'GET /api/v1/credentials/:id': { expect: credentialUsers(200), call: () => ({ url: `/api/v1/credentials/${fx.credential}` }) },
  'PATCH /api/v1/credentials/:id': { expect: credentialManagers(200), call: (actor) => ({ url: `/api/v1/credentials/${fx.credential}`, body: { value: `rotated by ${actor}` } }) },
  'DELETE /api/v1/credentials/:id': { expect: credentialOwners(204), call: async () => ({ url: `/api/v1/credentials/${await freshCredential()}` }) },
  'GET /api/v1/credentials/:id/grants': { expect: credentialUsers(200), call: () => ({ url: `/api/v1/credentials/${fx.credential}/grants` }) },
  'POST /api/v1/credentials/:id/grants': { expect: credentialOwners(200), call: () => ({ url: `/api/v1/credentials/${fx.credential}/grants`, body: { userId: fx.bystander.id, role: 'use' } }) },
  'DELETE /api/v1/credentials/:id/grants/:userId': {
    expect: credentialOwners(204),
    call: async () => {
      await t.api.post(`/api/v1/credentials/${fx.credential}/grants`).set(bearer(fx.accounts.owner.token)).send({ userId: fx.bystander.id, role: 'use' });
      return { url: `/api/v1/credentials/${fx.credential}/grants/${fx.bystander.id}` };
    },
  },

  // Knowledge bases (issue 18): shared like chains.
  'GET /api/v1/knowledge-bases': { expect: signedIn(200), call: () => ({ url: '/api/v1/knowledge-bases' }) },
  'POST /api/v1/knowledge-bases': { expect: creators(201), call: (actor) => ({ url: '/api/v1/knowledge-bases', body: { name: `KB of ${actor}` } }) },
  'GET /api/v1/knowledge-bases/:id': { expect: chainViewers(200), call: () => ({ url: `/api/v1/knowledge-bases/${kb}` }) },
  'PATCH /api/v1/knowledge-bases/:id': { expect: chainEditors(200), call: (actor) => ({ url: `/api/v1/knowledge-bases/${kb}`, body: { description: `by ${actor}` } }) },
  'DELETE /api/v1/knowledge-bases/:id': { expect: chainOwners(204), call: async () => ({ url: `/api/v1/knowledge-bases/${await freshBase()}` }) },
  'GET /api/v1/knowledge-bases/:id/documents': { expect: chainViewers(200), call: () => ({ url: `/api/v1/knowledge-bases/${kb}/documents` }) },
  'POST /api/v1/knowledge-bases/:id/documents': { expect: chainEditors(202), call: (actor) => ({ url: `/api/v1/knowledge-bases/${kb}/documents?name=${actor}.txt`, raw: { type: 'text/plain', text: `Written by ${actor} ${Date.now()}` } }) },
  'POST /api/v1/knowledge-bases/:id/documents/from-url': { expect: chainEditors(400), call: () => ({ url: `/api/v1/knowledge-bases/${kb}/documents/from-url`, body: { url: 'http://169.254.169.254/latest/meta-data' } }) },
  'GET /api/v1/knowledge-bases/:id/documents/:documentId': { expect: chainViewers(200), call: () => ({ url: `/api/v1/knowledge-bases/${kb}/documents/${kbDoc}` }) },
  'GET /api/v1/knowledge-bases/:id/documents/:documentId/events': { expect: chainViewers(200), call: () => ({ url: `/api/v1/knowledge-bases/${kb}/documents/${kbDoc}/events` }) },
  'PUT /api/v1/knowledge-bases/:id/documents/:documentId': { expect: chainEditors(202), call: (actor) => ({ url: `/api/v1/knowledge-bases/${kb}/documents/${kbDoc}`, raw: { type: 'text/markdown', text: `# New\n\nby ${actor} ${Date.now()}` } }) },
  'DELETE /api/v1/knowledge-bases/:id/documents/:documentId': { expect: chainEditors(204), call: async () => ({ url: `/api/v1/knowledge-bases/${kb}/documents/${await freshDocument()}` }) },
  'POST /api/v1/knowledge-bases/:id/query': { expect: chainViewers(200), call: () => ({ url: `/api/v1/knowledge-bases/${kb}/query`, body: { query: 'text' } }) },
  'GET /api/v1/knowledge-bases/:id/grants': { expect: chainViewers(200), call: () => ({ url: `/api/v1/knowledge-bases/${kb}/grants` }) },
  'POST /api/v1/knowledge-bases/:id/grants': { expect: chainOwners(200), call: () => ({ url: `/api/v1/knowledge-bases/${kb}/grants`, body: { userId: fx.bystander.id, role: 'viewer' } }) },
  'DELETE /api/v1/knowledge-bases/:id/grants/:userId': {
    expect: chainOwners(204),
    call: async () => {
      await t.api.post(`/api/v1/knowledge-bases/${kb}/grants`).set(bearer(fx.accounts.owner.token)).send({ userId: fx.bystander.id, role: 'viewer' });
      return { url: `/api/v1/knowledge-bases/${kb}/grants/${fx.bystander.id}` };
    },
  },

  // Plugins (issue 16): every signed-in user sees them; only admins change them.
  'GET /api/v1/plugins': { expect: signedIn(200), call: () => ({ url: '/api/v1/plugins' }) },
  'GET /api/v1/plugins/:id': { expect: signedIn(200), call: () => ({ url: '/api/v1/plugins/weather' }) },
  'POST /api/v1/plugins/:id/approve': { expect: adminOnly(200), call: () => ({ url: '/api/v1/plugins/weather/approve', body: { permissions: { network: ['api.open-meteo.com', 'settings:baseUrl'], credentials: [] } } }) },
  'POST /api/v1/plugins/:id/disable': { expect: adminOnly(200), call: () => ({ url: '/api/v1/plugins/spam-filter/disable' }) },
  'POST /api/v1/plugins/:id/enable': { expect: adminOnly(200), call: () => ({ url: '/api/v1/plugins/weather/enable' }) },
  'GET /api/v1/plugins/:id/settings': { expect: adminOnly(200), call: () => ({ url: '/api/v1/plugins/weather/settings' }) },
  'PUT /api/v1/plugins/:id/settings': { expect: adminOnly(200), call: () => ({ url: '/api/v1/plugins/weather/settings', body: { values: { baseUrl: 'https://api.open-meteo.com' } } }) },
  'POST /api/v1/plugins/:id/reload': { expect: adminOnly(200), call: () => ({ url: '/api/v1/plugins/weather/reload' }) },

  'POST /api/v1/chat/:chainIdOrSlug/:visitorId/messages': { expect: webChatEditors, call: (actor) => ({ url: `/api/v1/chat/${fx.chain.slug}/matrix-${actor}/messages`, body: { text: 'hi' } }) },
  'GET /api/v1/chat/:chainIdOrSlug/:visitorId/messages': { expect: webChatEditors, call: (actor) => ({ url: `/api/v1/chat/${fx.chain.slug}/matrix-${actor}/messages` }) },
};

let plugins: { registry: PluginRegistry; state: PluginState } | undefined;

beforeAll(async () => {
  t = await startApi('matrix');
  const state = new PluginState({ orm: t.h.db.orm, secretBox: t.h.secretBox, processName: 'api' });
  const registry = new PluginRegistry({ dirs: [BUILTIN_PLUGINS_DIR], ...state.registryOptions() });
  await state.start(registry);
  await registry.start();
  await state.ready();
  plugins = { registry, state };
  setProcessPlugins(registry);
  setProcessPluginState(state);
  const admin = await registerAdmin(t.api);
  const owner = await createAccount(t.api, admin, 'editor', 'owner');
  const editor = await createAccount(t.api, admin, 'editor', 'editor');
  const viewer = await createAccount(t.api, admin, 'viewer', 'viewer');
  const other = await createAccount(t.api, admin, 'editor', 'other');
  const bystander = await createAccount(t.api, admin, 'viewer', 'bystander');
  fx = { accounts: { admin, owner, editor, viewer, other }, bystander, chain: { id: '', slug: '' }, apiChain: { id: '', slug: '', versions: ['', ''] }, run: '', bot: '', credential: '' };
  const chain = await t.api.post('/api/v1/chains').set(bearer(owner.token)).send({ graph: simpleGraph('matrix-chain') });
  await t.api.post(`/api/v1/chains/${chain.body.id}/publish`).set(bearer(owner.token)).send({ note: 'v1' });
  await t.api.post(`/api/v1/chains/${chain.body.id}/grants`).set(bearer(owner.token)).send({ userId: editor.id, role: 'editor' });
  await t.api.post(`/api/v1/chains/${chain.body.id}/grants`).set(bearer(owner.token)).send({ userId: viewer.id, role: 'viewer' });
  fx.chain = { id: chain.body.id, slug: chain.body.slug };

  const apiChain = await t.api.post('/api/v1/chains').set(bearer(owner.token)).send({ graph: apiGraph('matrix-runs') });
  const v1 = await t.api.post(`/api/v1/chains/${apiChain.body.id}/publish`).set(bearer(owner.token)).send({ note: 'v1' });
  await t.api.put(`/api/v1/chains/${apiChain.body.id}/draft`).set(bearer(owner.token)).send({ revision: apiChain.body.draftRevision, graph: apiGraph(apiChain.body.slug, 'Second version') });
  const v2 = await t.api.post(`/api/v1/chains/${apiChain.body.id}/publish`).set(bearer(owner.token)).send({ note: 'v2' });
  for (const [user, role] of [[editor, 'editor'], [viewer, 'viewer']] as const) {
    await t.api.post(`/api/v1/chains/${apiChain.body.id}/grants`).set(bearer(owner.token)).send({ userId: user.id, role });
  }
  fx.apiChain = { id: apiChain.body.id, slug: apiChain.body.slug, versions: [v1.body.id, v2.body.id] };
  fx.run = await freshRun();
  fx.bot = await freshBot();
  fx.credential = await freshCredential();
  kb = await freshBase();
  kbDoc = await freshDocument();
});
afterAll(async () => {
  setProcessPlugins(undefined);
  setProcessPluginState(undefined);
  await plugins?.state.close();
  await plugins?.registry.close();
  await t?.close();
});

describe('the authorization matrix', () => {
  it('has a row for every registered route, and no row for a route that does not exist', () => {
    const registered = registeredRoutes(t.app).sort();
    const rows = Object.keys(matrix).sort();
    expect(registered.filter((r) => !rows.includes(r)), 'routes without a row in the matrix').toEqual([]);
    expect(rows.filter((r) => !registered.includes(r)), 'rows for routes that are not registered').toEqual([]);
  });

  for (const [route, row] of Object.entries(matrix)) {
    it(`answers ${route} for each caller as expected`, async () => {
      const [method, ...rest] = route.split(' ');
      const lower = method!.toLowerCase() as 'get' | 'post' | 'put' | 'patch' | 'delete';
      const actual = {} as Expected;
      for (const actor of ACTORS) {
        const token = actor === 'anonymous' ? undefined : fx.accounts[actor].token;
        const call = await row.call(actor, token);
        const useToken = call.token === undefined ? token : call.token;
        let test = t.api.request(lower, call.url);
        if (useToken) test = test.set(bearer(useToken));
        if (call.raw) test = test.set('content-type', call.raw.type).send(call.raw.text);
        else if (call.body !== undefined) test = test.send(call.body as object);
        const res = await test;
        actual[actor] = res.status;
        row.after?.(actor, res.body as Record<string, unknown>, res.status);
      }
      expect(actual, `${route} (${rest.join(' ')})`).toEqual(row.expect);
    });
  }
});
