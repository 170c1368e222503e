// Session start since the 'local-session-start' patch: the IR and the persisted variables
// in one local activity, decided before the first task's first command. Six sessions,
// each started by a message with three more right behind it, on a worker that caches two
// sessions: the others are evicted between their tasks and replayed from the start on the
// next one. Every session answers every message with the persisted variables loaded,
// records no failed task, and its whole history replays again afterwards.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import { createActivities } from '../../activities/index.ts';
import { createEngineActivities } from '../../activities/engine.ts';
import { createChain, createEdge, createNode } from '../../chain/testing.ts';
import { createLogger } from '../../lib/logger.ts';
import { messageSignal, type dialogue, type DialogueInput, type InboundMessage } from '../../temporal/contracts.ts';
import { LOCAL_SESSION_START } from '../../workflows/dialogue.ts';
import { publishGraph } from '../support/dialogue.ts';
import { createTestDatabase, quietTemporalRuntime, testClient, testSecretBox, testStack, uniqueTaskQueue, type TestDatabase } from '../support/stack.ts';

let db: TestDatabase;
let client: Client;
let connection: NativeConnection;
let worker: Worker;
let running: Promise<void>;
const taskQueue = uniqueTaskQueue('session-start');

beforeAll(async () => {
  quietTemporalRuntime();
  db = await createTestDatabase();
  client = await testClient();
  connection = await NativeConnection.connect({ address: testStack().temporalAddress });
  worker = await Worker.create({
    connection,
    namespace: testStack().temporalNamespace,
    taskQueue,
    activities: createActivities({ orm: db.orm, logger: createLogger('silent', 'test'), secretBox: testSecretBox() }),
    workflowBundle: { codePath: testStack().workflowBundlePath },
    maxCachedWorkflows: 2,
  });
  running = worker.run();
});
afterAll(async () => {
  worker?.shutdown();
  await running;
  await connection?.close();
  await client?.connection.close();
  await db?.drop();
});

const ask = (id: string, prompt: string) => createNode(id, 'ask', { prompt, variable: `session.${id}` });

describe('session start in one local activity', () => {
  it('answers bursts at the start of sessions evicted between their tasks, with the persisted variables, and replays them', async () => {
    const ids = await publishGraph(db, createChain({
      slug: 'start-burst',
      nodes: [
        createNode('start', 'start', { trigger: { kind: 'any' } }),
        ask('a1', 'First?'),
        ask('a2', 'Second?'),
        ask('a3', 'Third?'),
        createNode('got', 'message', { text: '{{ user.title }} got {{ session.a1 }} {{ session.a2 }} {{ session.a3 }}' }),
        createNode('fin', 'end', { outcome: 'start_burst' }),
      ],
      edges: [createEdge('start', 'a1'), createEdge('a1', 'a2'), createEdge('a2', 'a3'), createEdge('a3', 'got'), createEdge('got', 'fin')],
      variables: [{ name: 'user.title', type: 'string' }],
    }));
    const sessions = Array.from({ length: 6 }, (_, i) => `burst${i}-${randomUUID().slice(0, 6)}`);
    // Persisted before the sessions start: the start must load them.
    await createEngineActivities({ orm: db.orm, logger: createLogger('silent', 'test') }).saveVariables(sessions.map((v) => ({ scope: 'user', ownerKey: `web:${v}`, name: 'title', value: `Dr ${v}` })));

    const handles = await Promise.all(
      sessions.map(async (visitor) => {
        const input: DialogueInput = { chainId: ids.chainId, versionId: ids.versionId, channel: 'web', owners: { user: `web:${visitor}`, chat: `web:${visitor}`, bot: `chain:${ids.chainId}` } };
        const handle = await client.workflow.signalWithStart<typeof dialogue, [InboundMessage]>('dialogue', {
          taskQueue,
          workflowId: `web:${ids.chainId}:${visitor}`,
          args: [input],
          signal: messageSignal,
          signalArgs: [{ id: `${visitor}-0`, text: 'go' }],
        });
        for (const [n, text] of ['x', 'y', 'z'].entries()) await handle.signal(messageSignal, { id: `${visitor}-${n + 1}`, text });
        return { visitor, handle };
      }),
    );

    for (const { visitor, handle } of handles) {
      expect(await handle.result()).toMatchObject({ outcome: 'start_burst' });
      const history = await handle.fetchHistory();
      // No task failed (a nondeterministic replay fails the task and retries it).
      expect(history.events?.filter((e) => e.workflowTaskFailedEventAttributes).map((e) => e.workflowTaskFailedEventAttributes?.failure?.message)).toEqual([]);
      // The patch marker, and no remote loadVariables activity.
      const markers = (history.events ?? []).flatMap((e) => (e.markerRecordedEventAttributes?.markerName ? [e.markerRecordedEventAttributes] : []));
      expect(markers.some((m) => m.markerName === 'core_patch' && Buffer.from(m.details?.['patch-data']?.payloads?.[0]?.data ?? new Uint8Array()).toString('utf8').includes(LOCAL_SESSION_START))).toBe(true);
      expect(history.events?.some((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'loadVariables')).toBe(false);
      const out = await db.orm.em.getConnection().execute<{ payload: { text: string } }[]>(`select payload from run_event where run_id = ? and type = 'message.out' order by seq`, [handle.workflowId]);
      expect(out.map((r) => r.payload.text)).toEqual(['First?', 'Second?', 'Third?', `Dr ${visitor} got x y z`]);
    }
    const histories = await Promise.all(handles.map(async ({ handle }) => ({ workflowId: handle.workflowId, history: await handle.fetchHistory() })));
    const replays = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle: { codePath: testStack().workflowBundlePath } }, histories)) replays.push(result.error ? String(result.error) : 'ok');
    expect(replays).toEqual(histories.map(() => 'ok'));
  });
});
