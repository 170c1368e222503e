import { randomUUID } from 'node:crypto';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import type { GraphInput } from '../../chain/index.ts';
import { graphSchema } from '../../chain/index.ts';
import { createActivities } from '../../activities/index.ts';
import { importChain } from '../../api/services/chain-service.ts';
import { createLogger } from '../../lib/logger.ts';
import { sendUpdate, stateQuery, type dialogue, type DialogueInput, type InboundMessage, type SendResult, type SessionView } from '../../temporal/contracts.ts';
import { createTestDatabase, createTestWorker, testClient, testSecretBox, uniqueTaskQueue, type TestDatabase } from './stack.ts';
import type { SecretBox } from '../../lib/secret-box.ts';

export interface DialogueHarness {
  db: TestDatabase;
  secretBox: SecretBox;
  client: Client;
  taskQueue: string;
  worker: Worker;
  /** Stops the worker and closes everything. */
  close(): Promise<void>;
}

/** A database, a client and a running worker with the real activities, for one test file. */
export async function startDialogueHarness(prefix: string, opts: { httpAllow?: string[] } = {}): Promise<DialogueHarness> {
  const db = await createTestDatabase();
  const client = await testClient();
  const taskQueue = uniqueTaskQueue(prefix);
  const secretBox = testSecretBox();
  const activities = createActivities({ orm: db.orm, logger: createLogger('silent', 'test'), secretBox, ...(opts.httpAllow ? { ssrf: { allow: opts.httpAllow } } : {}) });
  const { worker, connection } = await createTestWorker({ taskQueue, activities });
  const running = worker.run();
  return {
    db,
    secretBox,
    client,
    taskQueue,
    worker,
    close: async () => {
      worker.shutdown();
      await running;
      await connection.close();
      await client.connection.close();
      await db.drop();
    },
  };
}

let slugCounter = 0;

/** Stores a graph as a chain with a published version; returns the ids. */
export async function publishGraph(db: TestDatabase, graph: GraphInput): Promise<{ chainId: string; versionId: string; slug: string }> {
  const parsed = graphSchema.parse({ ...graph, slug: `${graph.slug}-${++slugCounter}-${randomUUID().slice(0, 6)}` });
  const { chain, version } = await importChain(db.orm.em.fork(), parsed);
  return { chainId: chain.id, versionId: version.id, slug: chain.slug };
}

export interface SessionOptions {
  entry?: string;
  input?: DialogueInput['input'];
  limits?: DialogueInput['limits'];
  visitor?: string;
  channel?: DialogueInput['channel'];
}

/** Starts a dialogue session on the web channel (or as an API run with `entry`). */
export async function startSession(
  client: Client,
  taskQueue: string,
  ids: { chainId: string; versionId: string },
  opts: SessionOptions = {},
): Promise<WorkflowHandle<typeof dialogue>> {
  const visitor = opts.visitor ?? randomUUID().slice(0, 12);
  const input: DialogueInput = {
    chainId: ids.chainId,
    versionId: ids.versionId,
    channel: opts.channel ?? 'web',
    owners: { user: `web:${visitor}`, chat: `web:${visitor}`, bot: `chain:${ids.chainId}` },
    ...(opts.entry ? { entry: opts.entry } : {}),
    ...(opts.input ? { input: opts.input } : {}),
    ...(opts.limits ? { limits: opts.limits } : {}),
  };
  return client.workflow.start<typeof dialogue>('dialogue', { taskQueue, workflowId: `web:${ids.chainId}:${visitor}`, args: [input] });
}

let messageCounter = 0;

/** Sends a message through the `send` Update and returns the result. */
export async function send(handle: WorkflowHandle<typeof dialogue>, message: string | Partial<InboundMessage>): Promise<SendResult> {
  const msg: InboundMessage = typeof message === 'string' ? { id: `m-${++messageCounter}-${randomUUID().slice(0, 8)}`, text: message } : { id: `m-${++messageCounter}-${randomUUID().slice(0, 8)}`, ...message };
  return handle.executeUpdate(sendUpdate, { args: [msg] });
}

/** The texts of a send result's replies. */
export const texts = (result: SendResult): string[] => result.replies.map((r) => r.text);

export async function sessionState(handle: WorkflowHandle<typeof dialogue>): Promise<SessionView> {
  return handle.query(stateQuery);
}

/** Run events of a workflow id, oldest first. */
export async function runEvents(db: TestDatabase, runId: string): Promise<Array<{ type: string; node_id: string | null; payload: Record<string, unknown> }>> {
  return db.orm.em.getConnection().execute(`select type, node_id, payload from run_event where run_id = ? order by id`, [runId]);
}
