import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChain, createEdge, createNode } from '../../chain/testing.ts';
import { startTimeSkippingHarness, type TimeSkippingHarness } from '../support/time-skipping.ts';
import { publishGraph, runEvents, startSession } from '../support/dialogue.ts';

const DAY = 24 * 60 * 60 * 1000;
let h: TimeSkippingHarness;
beforeAll(async () => {
  h = await startTimeSkippingHarness('long');
});
afterAll(async () => h?.close());

const api = () => createNode('start', 'start', { trigger: { kind: 'api' } });

describe('long waits on the time-skipping server', () => {
  it('sleeps through a 30-day delay and then continues', async () => {
    const ids = await publishGraph(h.db, createChain({
      slug: 'month',
      nodes: [api(), createNode('wait', 'delay', { mode: 'duration', duration: '30d' }), createNode('m', 'message', { text: 'a month later' }), createNode('e', 'end', { outcome: 'reminded' })],
      edges: [createEdge('start', 'wait'), createEdge('wait', 'm'), createEdge('m', 'e')],
    }));
    const handle = await startSession(h.env.client, h.taskQueue, ids, { entry: 'api', channel: 'api' });
    expect(await handle.result()).toMatchObject({ outcome: 'reminded' });
    const events = await runEvents(h.db, handle.workflowId);
    const started = events.find((e) => e.type === 'delay.start');
    const out = events.find((e) => e.type === 'message.out');
    expect(started?.payload.ms).toBe(30 * DAY);
    expect(out?.payload.text).toBe('a month later');
    const [row] = await h.db.orm.em.getConnection().execute<{ span: number }[]>(
      `select extract(epoch from (max(at) filter (where type = 'message.out') - max(at) filter (where type = 'delay.start'))) * 1000 as span from run_event where run_id = ?`,
      [handle.workflowId],
    );
    expect(Number(row?.span)).toBeGreaterThanOrEqual(30 * DAY);
  });

  it("leaves an ask through 'timeout' after three days without a reply", async () => {
    const ids = await publishGraph(h.db, createChain({
      slug: 'ask-timeout',
      nodes: [api(), createNode('q', 'ask', { prompt: 'Still there?', variable: 'session.a', timeout: '3d' }), createNode('gone', 'message', { text: 'Bye for now' }), createNode('e', 'end', { outcome: 'timed_out' })],
      edges: [createEdge('start', 'q'), createEdge('q', 'gone', 'timeout'), createEdge('gone', 'e')],
    }));
    const handle = await startSession(h.env.client, h.taskQueue, ids, { entry: 'api', channel: 'api' });
    expect(await handle.result()).toMatchObject({ outcome: 'timed_out' });
    const types = (await runEvents(h.db, handle.workflowId)).map((e) => e.type);
    expect(types).toContain('ask.timeout');
    expect(types.indexOf('ask.timeout')).toBeLessThan(types.lastIndexOf('message.out'));
  });

  it("ends with outcome 'timeout' when the ask's timeout port has no edge", async () => {
    const ids = await publishGraph(h.db, createChain({
      slug: 'ask-timeout-open',
      nodes: [api(), createNode('q', 'ask', { prompt: 'Still there?', variable: 'session.a', timeout: '2d' })],
      edges: [createEdge('start', 'q')],
    }));
    const handle = await startSession(h.env.client, h.taskQueue, ids, { entry: 'api', channel: 'api' });
    expect(await handle.result()).toMatchObject({ outcome: 'timeout' });
  });
});
