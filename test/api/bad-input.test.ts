// The bad-input matrix: malformed, mistyped, unknown, oversized and wrongly typed input
// gets the documented 4xx naming the problem, and leaves the database exactly as it was.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createAccount, registerAdmin, simpleGraph, snapshotDatabase, startApi, type Account, type ApiHarness, type CheckedAgent } from './support/api.ts';
import { apiGraph, botToken } from './support/fixtures.ts';

let t: ApiHarness;
let admin: Account;
let owner: Account;
let chain: { id: string; slug: string };
let broken: { id: string };
/** A chain with an API start and two published versions; a bot; a credential a chain uses. */
let runs: { id: string; versions: [string, string] };
let bot: { id: string; token: string };
let credential: { id: string; name: string };
/** The app without a secret key, and the app with a metrics token. */
let keyless: CheckedAgent;
let guardedMetrics: CheckedAgent;
const unknownRun = encodeURIComponent('run:00000000-0000-4000-8000-000000000000');

interface Case {
  name: string;
  send(api: CheckedAgent): PromiseLike<{ status: number; body: { error: string; message: string; details: unknown } }>;
  status: number;
  error: string;
  /** What the message must say (names the field, line or node). */
  message?: RegExp;
}

const as = () => bearer(owner.token);
const big = 'x'.repeat(1024 * 1024 + 10);

const cases: Case[] = [
  {
    name: 'malformed JSON',
    send: (api) => api.post('/api/v1/chains').set(as()).set('content-type', 'application/json').send('{"name": "x",'),
    status: 400,
    error: 'malformed_json',
    message: /not valid JSON/,
  },
  {
    name: 'a JSON array where an object is expected',
    send: (api) => api.post('/api/v1/chains').set(as()).set('content-type', 'application/json').send('[1, 2]'),
    status: 400,
    error: 'validation_failed',
    message: /^body: /,
  },
  { name: 'a wrong type', send: (api) => api.post('/api/v1/chains').set(as()).send({ name: 42 }), status: 400, error: 'validation_failed', message: /^body\.name: / },
  { name: 'an unknown field', send: (api) => api.post('/api/v1/chains').set(as()).send({ name: 'x', colour: 'red' }), status: 400, error: 'validation_failed', message: /colour/ },
  {
    name: 'an invalid graph inside a valid body',
    send: (api) => api.post('/api/v1/chains').set(as()).send({ graph: { ...simpleGraph('bad-slug'), slug: 'Not A Slug' } }),
    status: 400,
    error: 'validation_failed',
    message: /^body\.graph\.slug: /,
  },
  { name: 'an oversized JSON body', send: (api) => api.post('/api/v1/chains').set(as()).send({ name: big }), status: 413, error: 'payload_too_large' },
  {
    name: 'a wrong content type for JSON',
    send: (api) => api.post('/api/v1/chains').set(as()).set('content-type', 'text/plain').send('name=x'),
    status: 415,
    error: 'unsupported_media_type',
    message: /application\/json/,
  },
  { name: 'a bad query value', send: (api) => api.get('/api/v1/chains?limit=0').set(as()), status: 400, error: 'validation_failed', message: /^query\.limit: / },
  { name: 'an unknown query parameter', send: (api) => api.get('/api/v1/chains?colour=red').set(as()), status: 400, error: 'validation_failed', message: /colour/ },
  { name: 'a malformed id', send: (api) => api.get('/api/v1/users/not-a-uuid').set(bearer(admin.token)), status: 400, error: 'validation_failed', message: /^params\.id: / },
  {
    name: 'a short password at registration',
    send: (api) => api.post('/api/v1/auth/register').send({ email: 'short@example.com', password: 'short' }),
    status: 400,
    error: 'validation_failed',
    message: /^body\.password: Use at least 10 characters/,
  },
  { name: 'a malformed e-mail at sign-in', send: (api) => api.post('/api/v1/auth/login').send({ email: 'nope', password: 'whatever' }), status: 400, error: 'validation_failed', message: /^body\.email: / },
  {
    name: 'bad YAML on import',
    send: (api) => api.post('/api/v1/chains/import').set(as()).set('content-type', 'application/yaml').send('slug: x\nname: X\nnodes: [\n  {id: a\n'),
    status: 400,
    error: 'invalid_file',
    message: /line \d+/,
  },
  {
    name: 'an import missing a required field',
    send: (api) => api.post('/api/v1/chains/import').set(as()).set('content-type', 'application/yaml').send('slug: no-name\nnodes: []\n'),
    status: 400,
    error: 'invalid_chain',
    message: /name/,
  },
  {
    name: 'an import that does not compile',
    send: (api) =>
      api
        .post('/api/v1/chains/import')
        .set(as())
        .set('content-type', 'application/json')
        .send(JSON.stringify({ ...simpleGraph('wont-compile'), edges: [{ id: 'e', source: 'start', target: 'ghost' }] })),
    status: 400,
    error: 'invalid_chain',
    message: /ghost/,
  },
  {
    name: 'an import with a slug that exists',
    send: (api) => api.post('/api/v1/chains/import').set(as()).set('content-type', 'application/json').send(JSON.stringify(simpleGraph('bad-input-chain'))),
    status: 409,
    error: 'slug_taken',
  },
  {
    name: 'an oversized upload',
    send: (api) => api.post('/api/v1/chains/import').set(as()).attach('file', Buffer.alloc(2 * 1024 * 1024 + 1, 'a'), 'huge.yaml'),
    status: 413,
    error: 'payload_too_large',
  },
  {
    name: 'an upload in the wrong field',
    send: (api) => api.post('/api/v1/chains/import').set(as()).attach('document', Buffer.from('slug: x'), 'x.yaml'),
    status: 400,
    error: 'bad_upload',
    message: /'file'/,
  },
  {
    name: 'a wrong content type for a chain file',
    send: (api) => api.post('/api/v1/chains/import').set(as()).set('content-type', 'image/png').send(Buffer.from([0x89, 0x50, 0x4e, 0x47])),
    status: 415,
    error: 'unsupported_media_type',
  },
  { name: 'an empty import', send: (api) => api.post('/api/v1/chains/import').set(as()), status: 400, error: 'file_missing' },
  {
    name: 'a stale draft revision',
    send: (api) => api.put(`/api/v1/chains/${chain.id}/draft`).set(as()).send({ revision: 99, graph: simpleGraph(chain.slug, 'Lost edit') }),
    status: 409,
    error: 'stale_revision',
  },
  {
    name: 'publishing an invalid chain',
    send: (api) => api.post(`/api/v1/chains/${broken.id}/publish`).set(as()).send({ note: 'should not exist' }),
    status: 422,
    error: 'chain_invalid',
    message: /nowhere/,
  },
  {
    name: 'a rollback to a version that does not exist',
    send: (api) => api.post(`/api/v1/chains/${chain.id}/rollback`).set(as()).send({ version: 7 }),
    status: 404,
    error: 'version_not_found',
  },
  { name: 'an empty user update', send: (api) => api.patch(`/api/v1/users/${owner.id}`).set(bearer(admin.token)).send({}), status: 400, error: 'validation_failed' },
  {
    name: 'sharing with an unknown user',
    send: (api) => api.post(`/api/v1/chains/${chain.id}/grants`).set(as()).send({ email: 'ghost@example.com', role: 'viewer' }),
    status: 404,
    error: 'user_not_found',
  },
  {
    name: 'sharing with both a user id and an e-mail',
    send: (api) => api.post(`/api/v1/chains/${chain.id}/grants`).set(as()).send({ email: 'ghost@example.com', userId: owner.id, role: 'viewer' }),
    status: 400,
    error: 'validation_failed',
    message: /userId or email/,
  },
  {
    name: 'a diff of a version that does not exist',
    send: (api) => api.get(`/api/v1/chains/${chain.id}/diff?from=5`).set(as()),
    status: 404,
    error: 'version_not_found',
  },
  { name: 'an unknown export format', send: (api) => api.get(`/api/v1/chains/${chain.id}/export?format=xml`).set(as()), status: 400, error: 'validation_failed', message: /^query\.format: / },
  { name: 'an unknown field when starting a run', send: (api) => api.post('/api/v1/runs').set(as()).send({ chain: runs.id, colour: 'red' }), status: 400, error: 'validation_failed', message: /colour/ },
  {
    name: 'a run with both a version id and a version number',
    send: (api) => api.post('/api/v1/runs').set(as()).send({ chain: runs.id, version: 1, versionId: runs.versions[0] }),
    status: 400,
    error: 'validation_failed',
    message: /^body\.version: Send versionId or version, not both/,
  },
  {
    name: 'a web run without a visitor id',
    send: (api) => api.post('/api/v1/runs').set(as()).send({ chain: runs.id, channel: 'web' }),
    status: 400,
    error: 'validation_failed',
    message: /^body\.visitorId: /,
  },
  {
    name: 'a run of a chain without an API start',
    send: (api) => api.post('/api/v1/runs').set(as()).send({ chain: chain.id }),
    status: 409,
    error: 'no_api_start',
    message: /no API start; add a start node with trigger kind 'api'/,
  },
  { name: 'a run of a version that does not exist', send: (api) => api.post('/api/v1/runs').set(as()).send({ chain: runs.id, version: 9 }), status: 404, error: 'version_not_found', message: /version 9/ },
  { name: 'a run of a chain that does not exist', send: (api) => api.post('/api/v1/runs').set(as()).send({ chain: 'no-such-chain' }), status: 404, error: 'chain_not_found' },
  { name: 'an unknown run status filter', send: (api) => api.get('/api/v1/runs?status=sleeping').set(as()), status: 400, error: 'validation_failed', message: /^query\.status: / },
  { name: 'a run filter date that is not a date', send: (api) => api.get('/api/v1/runs?startedAfter=yesterday').set(as()), status: 400, error: 'validation_failed', message: /^query\.startedAfter: .*ISO 8601/ },
  { name: 'a malformed run id', send: (api) => api.get('/api/v1/runs/not-a-run').set(as()), status: 400, error: 'validation_failed', message: /^params\.id: .*%3A/ },
  { name: 'a run that does not exist', send: (api) => api.get(`/api/v1/runs/${unknownRun}`).set(as()), status: 404, error: 'run_not_found' },
  { name: 'a bad page size of run events', send: (api) => api.get(`/api/v1/runs/${unknownRun}/events?limit=0`).set(as()), status: 400, error: 'validation_failed', message: /^query\.limit: / },
  { name: 'a run message without text', send: (api) => api.post(`/api/v1/runs/${unknownRun}/messages`).set(as()).send({}), status: 400, error: 'validation_failed', message: /^body\.text: / },
  { name: 'a run message with a bad wait flag', send: (api) => api.post(`/api/v1/runs/${unknownRun}/messages?wait=maybe`).set(as()).send({ text: 'hi' }), status: 400, error: 'validation_failed', message: /^query\.wait: / },
  { name: 'a run message to a run that does not exist', send: (api) => api.post(`/api/v1/runs/${unknownRun}/messages`).set(as()).send({ text: 'hi' }), status: 404, error: 'run_not_found' },
  { name: 'a cancel reason that is too long', send: (api) => api.post(`/api/v1/runs/${unknownRun}/cancel`).set(as()).send({ reason: 'x'.repeat(201) }), status: 400, error: 'validation_failed', message: /^body\.reason: / },
  { name: 'terminating a run that does not exist', send: (api) => api.post(`/api/v1/runs/${unknownRun}/terminate`).set(as()), status: 404, error: 'run_not_found' },
  { name: 'a bulk cancel without a chain', send: (api) => api.post('/api/v1/runs/cancel').set(as()).send({ status: 'waiting' }), status: 400, error: 'validation_failed', message: /^body\.chainId: / },
  {
    name: 'a migration whose node map names a node the old version does not have',
    send: (api) => api.post('/api/v1/runs/migrate').set(as()).send({ fromVersionId: runs.versions[0], toVersionId: runs.versions[1], nodeMap: { ghost: 'ask' } }),
    status: 400,
    error: 'node_not_found',
    message: /^body\.nodeMap\.ghost: 'ghost' is not a node of version 1/,
  },
  {
    name: 'a migration whose node map points at a node the new version does not have',
    send: (api) => api.post('/api/v1/runs/migrate').set(as()).send({ fromVersionId: runs.versions[0], toVersionId: runs.versions[1], nodeMap: { ask: 'nowhere' } }),
    status: 400,
    error: 'node_not_found',
    message: /'nowhere' is not a node of version 2/,
  },
  {
    name: 'a migration to a version of another chain',
    send: async (api) => {
      const other = (await t.h.db.orm.em.fork().getConnection().execute<{ id: string }[]>(`select id from chain_version where chain_id = ? limit 1`, [chain.id]))[0]?.id;
      return api.post('/api/v1/runs/migrate').set(as()).send({ fromVersionId: runs.versions[0], toVersionId: other });
    },
    status: 400,
    error: 'version_mismatch',
    message: /^body\.toVersionId: /,
  },
  {
    name: 'a migration to the same version',
    send: (api) => api.post('/api/v1/runs/migrate').set(as()).send({ fromVersionId: runs.versions[0], toVersionId: runs.versions[0] }),
    status: 400,
    error: 'validation_failed',
    message: /^body\.toVersionId: /,
  },
  { name: 'a bot without its token', send: (api) => api.post('/api/v1/bots').set(as()).send({ name: 'No token', kind: 'telegram_bot' }), status: 400, error: 'validation_failed', message: /^body\.token: A telegram_bot needs its token/ },
  {
    name: 'a malformed bot token (not echoed back)',
    send: async (api) => {
      const res = await api.post('/api/v1/bots').set(as()).send({ name: 'Bad token', kind: 'telegram_bot', token: 'not-a-token-sekrit-42' });
      if (JSON.stringify(res.body).includes('sekrit')) throw new Error('the error echoes the token');
      return res;
    },
    status: 400,
    error: 'validation_failed',
    message: /^body\.token: Use the token @BotFather gave/,
  },
  { name: 'a user account with a token instead of a session string', send: (api) => api.post('/api/v1/bots').set(as()).send({ name: 'Mixed', kind: 'telegram_user', token: botToken() }), status: 400, error: 'validation_failed', message: /sessionString|token/ },
  {
    name: 'a bot answered by a chain that does not exist',
    send: (api) => api.post('/api/v1/bots').set(as()).send({ name: 'Lost', kind: 'telegram_bot', token: botToken(), chainId: 'no-such-chain' }),
    status: 404,
    error: 'chain_not_found',
    message: /^body\.chainId: /,
  },
  { name: 'a bot registered twice', send: (api) => api.post('/api/v1/bots').set(as()).send({ name: 'Twice', kind: 'telegram_bot', token: bot.token }), status: 409, error: 'bot_exists' },
  { name: 'an empty bot update', send: (api) => api.patch(`/api/v1/bots/${bot.id}`).set(as()).send({}), status: 400, error: 'validation_failed' },
  { name: 'a bot update with the token of another bot', send: (api) => api.patch(`/api/v1/bots/${bot.id}`).set(as()).send({ token: botToken() }), status: 409, error: 'bot_mismatch', message: /^body\.token: / },
  { name: 'a session string for a Bot API bot', send: (api) => api.patch(`/api/v1/bots/${bot.id}`).set(as()).send({ sessionString: 'A'.repeat(40) }), status: 400, error: 'validation_failed', message: /^body\.sessionString: / },
  { name: 'a malformed bot id', send: (api) => api.delete('/api/v1/bots/not-a-uuid').set(as()), status: 400, error: 'validation_failed', message: /^params\.id: / },
  { name: 'a bot filter that is not true or false', send: (api) => api.get('/api/v1/bots?enabled=yes').set(as()), status: 400, error: 'validation_failed', message: /^query\.enabled: / },
  { name: 'sharing a bot with an unknown user', send: (api) => api.post(`/api/v1/bots/${bot.id}/grants`).set(as()).send({ email: 'ghost@example.com', role: 'viewer' }), status: 404, error: 'user_not_found' },
  {
    name: 'a credential name with a dash',
    send: (api) => api.post('/api/v1/credentials').set(as()).send({ name: 'my-key', kind: 'secret', value: 'a secret value' }),
    status: 400,
    error: 'validation_failed',
    message: /^body\.name: Use letters, digits and '_'/,
  },
  {
    name: 'a header credential without the header name',
    send: (api) => api.post('/api/v1/credentials').set(as()).send({ name: 'partner_header', kind: 'header', value: 'a secret value' }),
    status: 400,
    error: 'invalid_credential',
    message: /^body\.meta: .*meta\.header/,
  },
  {
    name: 'a credential value that is too short',
    send: (api) => api.post('/api/v1/credentials').set(as()).send({ name: 'short_one', kind: 'secret', value: 'abc' }),
    status: 400,
    error: 'invalid_credential',
    message: /^body\.value: /,
  },
  { name: 'a credential name that exists', send: (api) => api.post('/api/v1/credentials').set(as()).send({ name: credential.name, kind: 'secret', value: 'another value' }), status: 409, error: 'credential_exists' },
  { name: 'an empty credential update', send: (api) => api.patch(`/api/v1/credentials/${credential.id}`).set(as()).send({}), status: 400, error: 'validation_failed' },
  { name: 'an unknown credential kind filter', send: (api) => api.get('/api/v1/credentials?kind=magic').set(as()), status: 400, error: 'validation_failed', message: /^query\.kind: / },
  { name: 'deleting a credential a chain uses', send: (api) => api.delete(`/api/v1/credentials/${credential.id}`).set(as()), status: 409, error: 'credential_in_use', message: /force=true/ },
  { name: 'renaming a credential a chain uses', send: (api) => api.patch(`/api/v1/credentials/${credential.id}`).set(as()).send({ name: 'renamed_key' }), status: 409, error: 'credential_in_use' },
  {
    name: 'storing a credential without a secret key',
    send: () => keyless.post('/api/v1/credentials').set(as()).send({ name: 'keyless', kind: 'secret', value: 'a secret value' }),
    status: 503,
    error: 'secret_key_missing',
    message: /CHAINFLOW_SECRET_KEY/,
  },
  {
    name: 'storing a bot token without a secret key',
    send: () => keyless.post('/api/v1/bots').set(as()).send({ name: 'Keyless', kind: 'telegram_bot', token: botToken() }),
    status: 503,
    error: 'secret_key_missing',
    message: /CHAINFLOW_SECRET_KEY/,
  },
  { name: 'metrics without the metrics token', send: () => guardedMetrics.get('/metrics').set(bearer('wrong-token-wrong-token')), status: 401, error: 'unauthenticated', message: /METRICS_TOKEN/ },
  {
    name: 'a web-chat message without text',
    send: (api) => api.post(`/api/v1/chains/${chain.id}/simulate/v1/messages`).set(as()).send({}),
    status: 400,
    error: 'validation_failed',
    message: /^body\.text: Send text or a buttonId/,
  },
];

beforeAll(async () => {
  t = await startApi('bad-input');
  admin = await registerAdmin(t.api);
  owner = await createAccount(t.api, admin, 'editor', 'owner');
  const created = await t.api.post('/api/v1/chains').set(as()).send({ graph: simpleGraph('bad-input-chain') });
  chain = { id: created.body.id, slug: created.body.slug };
  await t.api.post(`/api/v1/chains/${chain.id}/publish`).set(as()).send({});
  const graph = simpleGraph('broken-chain');
  (graph.edges as unknown[]).push({ id: 'dangling', source: 'bye', target: 'nowhere' });
  broken = (await t.api.post('/api/v1/chains').set(as()).send({ graph })).body;

  const runChain = await t.api.post('/api/v1/chains').set(as()).send({ graph: apiGraph('bad-input-runs') });
  const v1 = await t.api.post(`/api/v1/chains/${runChain.body.id}/publish`).set(as()).send({});
  await t.api.put(`/api/v1/chains/${runChain.body.id}/draft`).set(as()).send({ revision: runChain.body.draftRevision, graph: apiGraph(runChain.body.slug, 'Version two') });
  const v2 = await t.api.post(`/api/v1/chains/${runChain.body.id}/publish`).set(as()).send({});
  runs = { id: runChain.body.id, versions: [v1.body.id, v2.body.id] };

  const token = botToken();
  bot = { id: (await t.api.post('/api/v1/bots').set(as()).send({ name: 'Fixture bot', kind: 'telegram_bot', token })).body.id, token };
  const stored = await t.api.post('/api/v1/credentials').set(as()).send({ name: 'used_key', kind: 'bearer', value: 'fixture bearer token' });
  credential = { id: stored.body.id, name: stored.body.name };
  // A draft that uses the credential by name, so deleting or renaming it is refused.
  const user = simpleGraph('uses-credential', 'Key {{ secrets.used_key }}');
  await t.api.post('/api/v1/chains').set(as()).send({ graph: user });
  keyless = t.appWith({}, undefined, { secretBox: undefined }).api;
  guardedMetrics = t.appWith({}, undefined, { metricsToken: 'the-metrics-token-1234' }).api;
});
afterAll(async () => t?.close());

describe('bad input', () => {
  for (const c of cases) {
    it(`answers ${c.name} with ${c.status} ${c.error} and changes nothing`, async () => {
      const before = await snapshotDatabase(t.h);
      const res = await c.send(t.api);
      expect({ status: res.status, error: res.body.error }).toEqual({ status: c.status, error: c.error });
      expect(Object.keys(res.body).sort()).toEqual(['details', 'error', 'message']);
      if (c.message) expect(res.body.message).toMatch(c.message);
      expect(await snapshotDatabase(t.h)).toEqual(before);
    });
  }
});
