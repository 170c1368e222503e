import { randomUUID } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileChain } from '../../chain/index.ts';
import { importChain, parseChainFile } from '../../api/services/chain-service.ts';
import { createCredential } from '../../db/credential-store.ts';
import { json, startOpenAiServer, startTestServer } from '../effects/support/servers.ts';
import { runEvents, send, startDialogueHarness, startSession, texts, type DialogueHarness } from '../support/dialogue.ts';

const exampleFile = (name: string) => readFileSync(new URL(`../../examples/${name}`, import.meta.url), 'utf8');

describe('the example chains', () => {
  it('all compile without errors or warnings', () => {
    const files = readdirSync(new URL('../../examples', import.meta.url)).filter((f) => f.endsWith('.yaml'));
    expect(files).toEqual(expect.arrayContaining(['greeting.yaml', 'reminders.yaml', 'order-assistant.yaml']));
    for (const file of files) {
      const result = compileChain(parseChainFile(exampleFile(file)));
      expect({ file, ok: result.ok, warnings: result.warnings }).toEqual({ file, ok: true, warnings: [] });
    }
  });
});

describe('order-assistant.yaml', () => {
  let h: DialogueHarness;
  beforeAll(async () => {
    h = await startDialogueHarness('orders', { httpAllow: ['127.0.0.1', '::1'] });
  });
  afterAll(async () => h?.close());

  it('looks the order up with the secret token and answers with the model’s sentence', async () => {
    const shop = await startTestServer();
    const llm = await startOpenAiServer();
    try {
      shop.route('/api/orders/1042', (_req, res) => json(res, 200, { id: 1042, status: 'shipped', delivery: { eta: '2026-11-25' } }));
      const em = h.db.orm.em.fork();
      const graph = parseChainFile(exampleFile('order-assistant.yaml'));
      const { chain, version } = await importChain(em, { ...graph, slug: `orders-${randomUUID().slice(0, 6)}` });
      await createCredential(em, h.secretBox, { name: 'shop_api_token', kind: 'secret', value: 'shop-token-9f8e7d' });
      await createCredential(em, h.secretBox, { name: 'llm', kind: 'openai', value: 'sk-llm-abcdef', meta: { baseUrl: llm.baseUrl } });
      await em.getConnection().execute(
        `insert into variable (id, scope, owner_key, name, value, updated_at) values (?, 'bot', ?, 'shop_api_url', ?::jsonb, now())`,
        [randomUUID(), `chain:${chain.id}`, JSON.stringify(`${shop.origin}/api`)],
      );
      llm.script({ kind: 'reply', content: 'Your order 1042 is on its way and should arrive on 25 November.' });

      const handle = await startSession(h.client, h.taskQueue, { chainId: chain.id, versionId: version.id });
      expect(texts(await send(handle, '/order'))).toEqual(['What is your order number?']);
      expect(texts(await send(handle, 'abc'))).toEqual(['Please send just the number, e.g. 1042.']);
      const answer = await send(handle, '1042');
      expect(texts(answer)).toEqual(['Your order 1042 is on its way and should arrive on 25 November.']);
      expect(answer.ended).toBe(true);

      expect(shop.requests.at(-1)?.headers.authorization).toBe('Bearer shop-token-9f8e7d');
      expect(JSON.stringify(llm.requests.at(-1)?.body)).toContain("status 'shipped' and expected delivery 2026-11-25");
      const log = JSON.stringify(await runEvents(h.db, handle.workflowId));
      expect(log).not.toContain('shop-token-9f8e7d');
      expect(log).not.toContain('sk-llm-abcdef');

      // An unknown order goes through the HTTP node's error port.
      const other = await startSession(h.client, h.taskQueue, { chainId: chain.id, versionId: version.id });
      await send(other, '/order');
      expect(texts(await send(other, '7'))).toEqual(["I couldn't look up order 7 (error 404). Please check the number or try later."]);
    } finally {
      await shop.close();
      await llm.close();
    }
  });
});
