// Stored graphs and IRs are ours, not the caller's: a row changed behind Chainflow's back
// answers 500 naming the chain (and is logged), never a 400 that blames the request.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, captureLogs, registerAdmin, simpleGraph, startApi, type Account, type ApiHarness, type LogCapture } from './support/api.ts';

let t: ApiHarness;
let logs: LogCapture;
let admin: Account;

beforeAll(async () => {
  logs = captureLogs();
  t = await startApi('stored', { logger: logs.logger });
  admin = await registerAdmin(t.api);
});
afterAll(async () => t?.close());

const as = () => bearer(admin.token);

/** A chain with one published version; returns its ids. */
async function publishedChain(slug: string): Promise<{ id: string; versionId: string }> {
  const graph = simpleGraph(slug);
  graph['nodes'] = [...(graph['nodes'] as object[]), { id: 'api', type: 'start', position: { x: 0, y: 200 }, data: { trigger: { kind: 'api' } } }];
  graph['edges'] = [...(graph['edges'] as object[]), { id: 'e3', source: 'api', target: 'ask' }];
  const created = await t.api.post('/api/v1/chains').set(as()).send({ graph });
  expect(created.status).toBe(201);
  const published = await t.api.post(`/api/v1/chains/${created.body.id}/publish`).set(as()).send({});
  expect(published.status).toBe(201);
  return { id: created.body.id, versionId: published.body.id };
}

/** The log lines reporting invalid stored data for `chainId`. */
const loggedFor = (chainId: string) =>
  logs.lines.map((l) => JSON.parse(l) as { level: number; msg: string; chainId?: string; column?: string; problems?: string[] }).filter((l) => l.msg === 'stored chain data is invalid' && l.chainId === chainId);

describe('stored chain data that does not read back', () => {
  it('a corrupt draft answers 500 naming the chain, and is logged', async () => {
    const chain = await publishedChain('corrupt-draft');
    const sql = t.h.db.orm.em.getConnection();
    await sql.execute(`update chain set draft_graph = jsonb_set(draft_graph, '{nodes}', '"gone"') where id = ?`, [chain.id]);

    for (const send of [
      () => t.api.post(`/api/v1/chains/${chain.id}/validate`).set(as()),
      () => t.api.post(`/api/v1/chains/${chain.id}/publish`).set(as()).send({}),
      () => t.api.get(`/api/v1/chains/${chain.id}/diff?from=1&to=draft`).set(as()),
    ]) {
      const res = await send();
      expect(res.status).toBe(500);
      expect(res.body.error).toBe('stored_data_invalid');
      expect(res.body.message).toContain(`Chain "corrupt-draft" (${chain.id})`);
      expect(res.body.message).toContain('chain.draft_graph');
      expect(res.body.message).not.toMatch(/^body/);
      expect(res.body.details).toEqual({ chainId: chain.id, versionId: null });
    }
    const logged = loggedFor(chain.id);
    expect(logged).toHaveLength(3);
    expect(logged[0]).toMatchObject({ level: 50, column: 'chain.draft_graph' });
    expect(logged[0]?.problems?.[0]).toMatch(/^nodes: /);
  });

  it('a corrupt version graph or IR answers 500 naming the chain and version, and is logged', async () => {
    const chain = await publishedChain('corrupt-version');
    const sql = t.h.db.orm.em.getConnection();
    await sql.execute(`update chain_version set graph = '[]'::jsonb, ir = ir - 'nodes' where id = ?`, [chain.versionId]);

    const diff = await t.api.get(`/api/v1/chains/${chain.id}/diff?from=1&to=draft`).set(as());
    expect(diff.status).toBe(500);
    expect(diff.body).toMatchObject({ error: 'stored_data_invalid', details: { chainId: chain.id, versionId: chain.versionId } });
    expect(diff.body.message).toContain(`Chain ${chain.id} version 1 ${chain.versionId}: the stored chain_version.graph is not valid`);

    const run = await t.api.post('/api/v1/runs').set(as()).send({ chain: chain.id });
    expect(run.status).toBe(500);
    expect(run.body).toMatchObject({ error: 'stored_data_invalid', details: { chainId: chain.id, versionId: chain.versionId } });
    expect(run.body.message).toContain(`Chain ${chain.id} version 1 ${chain.versionId}: the stored chain_version.ir is not valid (nodes: expected an object)`);

    expect(loggedFor(chain.id).map((l) => l.column)).toEqual(['chain_version.graph', 'chain_version.ir']);
    // Nothing was started on the broken version.
    const runs = await sql.execute<{ n: string }[]>(`select count(*) as n from run where chain_id = ?`, [chain.id]);
    expect(Number(runs[0]?.n)).toBe(0);
  });
});
