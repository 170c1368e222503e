import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createChain, createEdge, createNode } from '../../chain/testing.ts';
import { createActivities } from '../../activities/index.ts';
import { createLogger } from '../../lib/logger.ts';
import { freePort } from '../../lib/processes.ts';
import { startDevServer } from '../../temporal/dev-server.ts';
import { messageSignal, stateQuery, type SendResult } from '../../temporal/contracts.ts';
import { publishGraph, runEvents, send, sessionState, startDialogueHarness, startSession, texts, type DialogueHarness } from '../support/dialogue.ts';
import { eventually, quietTemporalRuntime, testStack, uniqueTaskQueue } from '../support/stack.ts';

let h: DialogueHarness;
beforeAll(async () => {
  h = await startDialogueHarness('durable');
});
afterAll(async () => h?.close());

/** start → ask (saves session.last) → set count+1 → back to the ask: one wait per message. */
const counterChain = createChain({
  slug: 'counter',
  nodes: [
    createNode('start', 'start', { trigger: { kind: 'any' } }),
    createNode('q', 'ask', { prompt: 'Say something', variable: 'session.last' }),
    createNode('inc', 'set', { assignments: [{ variable: 'session.count', op: 'increment', value: '1', valueType: 'number' }, { variable: 'user.total', op: 'increment', value: '1', valueType: 'number' }] }),
    createNode('back', 'goto', { target: 'q' }),
  ],
  edges: [createEdge('start', 'q'), createEdge('q', 'inc'), createEdge('inc', 'back')],
});

describe('durability', () => {
  it('continues as new after 500 messages with its state intact and a new run id', async () => {
    const ids = await publishGraph(h.db, counterChain);
    const handle = await startSession(h.client, h.taskQueue, ids);
    const first = await send(handle, { id: 'msg-0', text: 'hello' });
    expect(texts(first)).toEqual(['Say something']);
    const firstRunId = (await handle.describe()).runId;

    for (let i = 1; i <= 510; i++) await handle.signal(messageSignal, { id: `msg-${i}`, text: `n${i}` });
    // A burst of 510 signals: once failed workflow tasks (buffered events overflowed
    // while local-activity flushes kept one task open); now processed as a batch.
    const last: SendResult = await send(handle, { id: 'msg-511', text: 'last' });
    const history = await handle.fetchHistory();
    expect(history.events?.filter((e) => e.workflowTaskFailedEventAttributes) ?? []).toEqual([]);
    expect(texts(last)).toEqual(['Say something']);

    const described = await handle.describe();
    expect(described.runId).not.toBe(firstRunId);
    const state = await sessionState(handle);
    expect(state.variables.session).toMatchObject({ count: 511, last: 'last' });
    expect(state.variables.user).toMatchObject({ total: 511 });
    expect(state.currentNode).toBe('q');

    // The dedupe window crossed continue-as-new: an id from the first run is still known.
    const replayed = await send(handle, { id: 'msg-3', text: 'again' });
    expect(replayed.duplicate).toBe(true);
    expect((await sessionState(handle)).variables.session.count).toBe(511);

    const events = await runEvents(h.db, handle.workflowId);
    expect(events.filter((e) => e.type === 'session.continued').length).toBeGreaterThanOrEqual(1);
    // Every message is in the run log exactly once, in order, across the continue-as-new.
    const ins = events.filter((e) => e.type === 'message.in').map((e) => String(e.payload.id));
    expect(ins).toEqual(Array.from({ length: 512 }, (_, i) => `msg-${i}`));
  });

  it('processes a message id once when a channel delivers it twice', async () => {
    const ids = await publishGraph(h.db, counterChain);
    const handle = await startSession(h.client, h.taskQueue, ids);
    await send(handle, { id: 'a', text: 'hi' });
    await handle.signal(messageSignal, { id: 'b', text: 'one' });
    await handle.signal(messageSignal, { id: 'b', text: 'one' });
    await send(handle, { id: 'c', text: 'two' });
    await send(handle, { id: 'c', text: 'two' });
    const state = await sessionState(handle);
    expect(state.variables.session.count).toBe(2);
    const events = await runEvents(h.db, handle.workflowId);
    expect(events.filter((e) => e.type === 'message.in').map((e) => e.payload.id)).toEqual(['a', 'b', 'c']);
  });

  it('keeps a pending 3-day timer across a restart of the worker and the Temporal dev server', async () => {
    quietTemporalRuntime();
    const dir = mkdtempSync(join(tmpdir(), 'chainflow-restart-'));
    chmodSync(dir, 0o755);
    const port = await freePort();
    const taskQueue = uniqueTaskQueue('restart');
    const activities = createActivities({ orm: h.db.orm, logger: createLogger('silent', 'test'), secretBox: h.secretBox });
    const startStack = async () => {
      const server = await startDevServer({ dir, namespace: 'chainflow', port, uiPort: false, persist: true });
      const nativeConnection = await NativeConnection.connect({ address: server.address });
      const worker = await Worker.create({ connection: nativeConnection, namespace: 'chainflow', taskQueue, activities, workflowBundle: { codePath: testStack().workflowBundlePath } });
      const running = worker.run();
      const connection = await Connection.connect({ address: server.address });
      const client = new Client({ connection, namespace: 'chainflow' });
      return {
        client,
        stop: async () => {
          worker.shutdown();
          await running;
          await nativeConnection.close();
          await connection.close();
          await server.stop();
        },
      };
    };
    let stack: Awaited<ReturnType<typeof startStack>> | undefined;
    try {
      const long = await publishGraph(h.db, createChain({
        slug: 'three-days',
        nodes: [createNode('start', 'start', { trigger: { kind: 'api' } }), createNode('wait', 'delay', { mode: 'duration', duration: '3d' }), createNode('m', 'message', { text: 'three days later' })],
        edges: [createEdge('start', 'wait'), createEdge('wait', 'm')],
      }));
      // A short timer too, so the test also sees a timer fire after the restart.
      const short = await publishGraph(h.db, createChain({
        slug: 'two-seconds',
        nodes: [createNode('start', 'start', { trigger: { kind: 'api' } }), createNode('wait', 'delay', { mode: 'duration', duration: '2s' }), createNode('e', 'end', { outcome: 'woke' })],
        edges: [createEdge('start', 'wait'), createEdge('wait', 'e')],
      }));

      stack = await startStack();
      const longHandle = await startSession(stack.client, taskQueue, long, { entry: 'api', channel: 'api' });
      const shortHandle = await startSession(stack.client, taskQueue, short, { entry: 'api', channel: 'api' });
      const before = await eventually(async () => {
        const view = await longHandle.query(stateQuery);
        return view.wait?.kind === 'timer' ? view : undefined;
      }, 'the session to reach its delay');
      expect(before).toMatchObject({ currentNode: 'wait', wait: { kind: 'timer', nodeId: 'wait' } });
      await stack.stop();
      stack = undefined;

      stack = await startStack();
      const longAfter = stack.client.workflow.getHandle(longHandle.workflowId);
      expect((await longAfter.describe()).status.name).toBe('RUNNING');
      const after = await longAfter.query(stateQuery);
      expect(after).toEqual(before);
      const history = await longAfter.fetchHistory();
      const started = history.events?.filter((e) => e.timerStartedEventAttributes) ?? [];
      const fired = history.events?.filter((e) => e.timerFiredEventAttributes) ?? [];
      expect(started).toHaveLength(1);
      // The timer runs until the wake-up time fixed when the delay began (minus the moments spent flushing).
      const seconds = Number(started[0]?.timerStartedEventAttributes?.startToFireTimeout?.seconds);
      expect(seconds).toBeGreaterThan(3 * 24 * 3600 - 60);
      expect(seconds).toBeLessThanOrEqual(3 * 24 * 3600);
      expect(fired).toHaveLength(0);

      expect(await stack.client.workflow.getHandle(shortHandle.workflowId).result()).toMatchObject({ outcome: 'woke' });
      await longAfter.terminate('test done');
    } finally {
      // Also when an assertion failed: no dev server may outlive the test.
      await stack?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
