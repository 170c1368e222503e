import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Express } from 'express';
import request from 'supertest';
import { createChain, createEdge, createNode } from '../../chain/testing.ts';
import { createCredential } from '../../db/credential-store.ts';
import { createApp } from '../../api/app.ts';
import { createLogger } from '../../lib/logger.ts';
import { RunSchema } from '../../db/entities.ts';
import { publishGraph, runEvents, startDialogueHarness, type DialogueHarness } from '../support/dialogue.ts';

let h: DialogueHarness;
let app: Express;
const SECRET = 'whsec-test-0123456789';

beforeAll(async () => {
  h = await startDialogueHarness('hooks');
  app = createApp({ orm: h.db.orm, temporal: h.client, logger: createLogger('silent', 'test'), taskQueue: h.taskQueue, secretBox: h.secretBox });
});
afterAll(async () => h?.close());

async function hookChain(mode: 'none' | 'secret_header' | 'hmac_sha256' | 'bearer') {
  const credentialId = mode === 'none' ? undefined : (await createCredential(h.db.orm.em.fork(), h.secretBox, { name: `hook_${mode}_${Date.now()}`, kind: 'secret', value: SECRET })).id;
  return publishGraph(h.db, createChain({
    slug: 'hooked',
    nodes: [
      createNode('hook', 'start', { trigger: { kind: 'webhook', hookId: 'order-paid', auth: { mode, ...(credentialId ? { credentialId } : {}) } } }),
      createNode('m', 'message', { text: 'Order {{ run.order.id }} paid by {{ run.order.customer }}' }),
      createNode('e', 'end', { outcome: 'notified' }),
    ],
    edges: [createEdge('hook', 'm'), createEdge('m', 'e')],
  }));
}

const body = JSON.stringify({ order: { id: 42, customer: 'Ann' } });
const sign = (raw: string) => `sha256=${createHmac('sha256', SECRET).update(raw).digest('hex')}`;
const runsOf = (chainId: string) => h.db.orm.em.fork().count(RunSchema, { chainId });

describe('webhook triggers', () => {
  it('start a session with the payload in run.* when the HMAC signature is right', async () => {
    const ids = await hookChain('hmac_sha256');
    const res = await request(app).post(`/api/v1/hooks/${ids.slug}/order-paid`).set('content-type', 'application/json').set('x-chainflow-signature', sign(body)).send(body);
    expect(res.status).toBe(202);
    expect(res.body.runId).toMatch(/^run:[0-9a-f-]{36}$/);
    expect(await h.client.workflow.getHandle(res.body.runId).result()).toMatchObject({ outcome: 'notified' });
    const events = await runEvents(h.db, res.body.runId);
    expect(events.find((e) => e.type === 'message.out')?.payload.text).toBe('Order 42 paid by Ann');
    expect(events[0]).toMatchObject({ type: 'session.start', payload: { entry: 'webhook:order-paid' } });
  });

  it('answer 401 and start nothing when the signature is wrong or missing', async () => {
    const ids = await hookChain('hmac_sha256');
    const wrong = await request(app).post(`/api/v1/hooks/${ids.chainId}/order-paid`).set('content-type', 'application/json').set('x-chainflow-signature', sign(`${body} `)).send(body);
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toBe('bad_signature');
    expect(wrong.body.message).not.toContain(SECRET);
    const missing = await request(app).post(`/api/v1/hooks/${ids.chainId}/order-paid`).set('content-type', 'application/json').send(body);
    expect(missing.status).toBe(401);
    expect(await runsOf(ids.chainId)).toBe(0);
  });

  it('accept a shared-secret header or a bearer token, and plain requests when the hook has no auth', async () => {
    const header = await hookChain('secret_header');
    expect((await request(app).post(`/api/v1/hooks/${header.slug}/order-paid`).set('x-chainflow-secret', SECRET).set('content-type', 'application/json').send(body)).status).toBe(202);
    expect((await request(app).post(`/api/v1/hooks/${header.slug}/order-paid`).set('x-chainflow-secret', 'nope').send(body)).status).toBe(401);
    const bearer = await hookChain('bearer');
    expect((await request(app).post(`/api/v1/hooks/${bearer.slug}/order-paid`).set('authorization', `Bearer ${SECRET}`).set('content-type', 'application/json').send(body)).status).toBe(202);
    const open = await hookChain('none');
    expect((await request(app).post(`/api/v1/hooks/${open.slug}/order-paid`).set('content-type', 'application/json').send(body)).status).toBe(202);
  });

  it('answer 404 for an unknown hook and 400 for a malformed JSON body', async () => {
    const ids = await hookChain('none');
    const unknown = await request(app).post(`/api/v1/hooks/${ids.slug}/no-such-hook`).send(body);
    expect(unknown.status).toBe(404);
    expect(unknown.body.message).toContain('no webhook "no-such-hook"');
    const bad = await request(app).post(`/api/v1/hooks/${ids.slug}/order-paid`).set('content-type', 'application/json').send('{"order":');
    expect(bad.status).toBe(400);
    expect(await runsOf(ids.chainId)).toBe(0);
  });
});
