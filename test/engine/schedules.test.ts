import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { createApp } from '../../api/app.ts';
import { issueSetupToken } from '../../api/auth/setup.ts';
import { reconcileTriggers } from '../../api/services/triggers.ts';
import { createLogger } from '../../lib/logger.ts';
import { ScheduleNotFoundError } from '@temporalio/client';
import { createChain, createEdge, createNode } from '../../chain/testing.ts';
import type { ChainIR } from '../../chain/index.ts';
import { ChainVersionSchema } from '../../db/entities.ts';
import { scheduleIdOf, syncSchedules } from '../../temporal/schedules.ts';
import { publishGraph, runEvents, startDialogueHarness, type DialogueHarness } from '../support/dialogue.ts';
import { eventually } from '../support/stack.ts';

// The time-skipping test server has no Schedule service, so schedules are tested on the
// dev server: the spec through the next action times Temporal computes, the action by
// triggering the schedule now.
let h: DialogueHarness;
beforeAll(async () => {
  h = await startDialogueHarness('sched');
});
afterAll(async () => h?.close());

const scheduled = (cron: string, timezone: string) =>
  createChain({
    slug: 'digest',
    nodes: [
      createNode('daily', 'start', { trigger: { kind: 'schedule', cron, timezone } }),
      createNode('m', 'message', { text: 'Good morning' }),
      createNode('e', 'end', { outcome: 'sent' }),
    ],
    edges: [createEdge('daily', 'm'), createEdge('m', 'e')],
  });

async function irOf(versionId: string): Promise<ChainIR> {
  const row = await h.db.orm.em.fork().findOneOrFail(ChainVersionSchema, { id: versionId });
  return row.ir as unknown as ChainIR;
}

describe('schedule triggers', () => {
  it('become a Temporal Schedule with the cron and time zone, whose firing starts a session at that trigger', async () => {
    const ids = await publishGraph(h.db, scheduled('0 9 * * 1-5', 'Europe/Moscow'));
    const ir = await irOf(ids.versionId);
    const result = await syncSchedules(h.client, { taskQueue: h.taskQueue, chainId: ids.chainId, version: { id: ids.versionId, ir } });
    expect(result.upserted).toEqual([scheduleIdOf(ids.chainId, 'daily')]);

    const handle = h.client.schedule.getHandle(scheduleIdOf(ids.chainId, 'daily'));
    const described = await handle.describe();
    expect(described.spec.timezone).toBe('Europe/Moscow');
    const next = described.info.nextActionTimes.slice(0, 5);
    expect(next.length).toBe(5);
    for (const at of next) {
      // 09:00 in Moscow (UTC+3) on a weekday.
      expect(at.getUTCHours()).toBe(6);
      expect(at.getUTCMinutes()).toBe(0);
      expect([1, 2, 3, 4, 5]).toContain(new Date(at.getTime() + 3 * 3600_000).getUTCDay());
    }

    await handle.trigger();
    const started = await eventually(async () => (await handle.describe()).info.recentActions[0]?.action.workflow.workflowId, 'the schedule to start a workflow');
    expect(started).toMatch(new RegExp(`^run:sched:${ids.chainId}:daily-`));
    expect(await h.client.workflow.getHandle(started).result()).toMatchObject({ outcome: 'sent' });
    const events = await runEvents(h.db, started);
    expect(events[0]).toMatchObject({ type: 'session.start', payload: { entry: 'schedule:daily', channel: 'api' } });
    expect(events.find((e) => e.type === 'message.out')?.payload.text).toBe('Good morning');
  });

  it('are updated, paused and deleted with the chain', async () => {
    const first = await publishGraph(h.db, scheduled('*/5 * * * *', 'UTC'));
    const firstIr = await irOf(first.versionId);
    await syncSchedules(h.client, { taskQueue: h.taskQueue, chainId: first.chainId, version: { id: first.versionId, ir: firstIr } });
    const handle = h.client.schedule.getHandle(scheduleIdOf(first.chainId, 'daily'));

    await syncSchedules(h.client, { taskQueue: h.taskQueue, chainId: first.chainId, version: { id: first.versionId, ir: firstIr }, paused: true });
    expect((await handle.describe()).state.paused).toBe(true);

    // A version without the trigger removes its schedule.
    const without = createChain({ slug: 'digest', nodes: [createNode('api', 'start', { trigger: { kind: 'api' } }), createNode('m', 'message', { text: 'hi' })], edges: [createEdge('api', 'm')] });
    const second = await publishGraph(h.db, without);
    const result = await syncSchedules(h.client, { taskQueue: h.taskQueue, chainId: first.chainId, version: { id: second.versionId, ir: await irOf(second.versionId) }, previous: firstIr });
    expect(result.deleted).toEqual([scheduleIdOf(first.chainId, 'daily')]);
    await expect(handle.describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
  });
});

describe('schedule triggers through the API', () => {
  it('are created on publish, moved on rollback, removed on delete, and reconciled at start', async () => {
    const app = createApp({ orm: h.db.orm, temporal: h.client, logger: createLogger('silent', 'test'), taskQueue: h.taskQueue });
    const reg = await request(app).post('/api/v1/auth/register').send({ email: `sched-${Date.now()}@example.com`, password: 'correct horse battery 1', name: 'Sched', setupToken: await issueSetupToken(h.db.orm.em) });
    const auth = { authorization: `Bearer ${String(reg.body.accessToken)}` };
    const graph = scheduled('30 8 * * *', 'UTC');
    const created = await request(app).post('/api/v1/chains?onConflict=rename').set(auth).send({ graph: { ...graph, slug: `sched-api-${Date.now()}` } });
    expect(created.status).toBe(201);
    const chainId = String(created.body.id);
    expect((await request(app).post(`/api/v1/chains/${chainId}/publish`).set(auth).send({ note: 'v1' })).status).toBe(201);
    const handle = h.client.schedule.getHandle(scheduleIdOf(chainId, 'daily'));
    expect((await handle.describe()).info.nextActionTimes[0]?.getUTCHours()).toBe(8);

    // v2 moves the schedule to 10:15; rolling back to v1 moves it back.
    const detail = await request(app).get(`/api/v1/chains/${chainId}`).set(auth);
    const v2graph = scheduled('15 10 * * *', 'UTC');
    expect((await request(app).put(`/api/v1/chains/${chainId}/draft`).set(auth).send({ revision: detail.body.draftRevision, graph: { ...v2graph, slug: detail.body.slug } })).status).toBe(200);
    expect((await request(app).post(`/api/v1/chains/${chainId}/publish`).set(auth).send({ note: 'v2' })).status).toBe(201);
    expect((await handle.describe()).info.nextActionTimes[0]?.getUTCHours()).toBe(10);
    expect((await request(app).post(`/api/v1/chains/${chainId}/rollback`).set(auth).send({ version: 1 })).status).toBe(200);
    expect((await handle.describe()).info.nextActionTimes[0]?.getUTCHours()).toBe(8);

    // Reconciliation at start recreates a missing schedule and keeps the present ones.
    await handle.delete();
    const result = await reconcileTriggers({ temporal: h.client, taskQueue: h.taskQueue }, h.db.orm.em.fork(), createLogger('silent', 'test'));
    expect(result.schedules).toBeGreaterThanOrEqual(1);
    expect((await handle.describe()).info.nextActionTimes[0]?.getUTCHours()).toBe(8);

    expect((await request(app).delete(`/api/v1/chains/${chainId}`).set(auth)).status).toBe(204);
    await expect(handle.describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
  });
});
