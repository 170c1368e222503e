import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importChain, parseChainFile } from '../../api/services/chain-service.ts';
import { sendUpdate, stateQuery } from '../../temporal/contracts.ts';
import { runEvents, startSession } from '../support/dialogue.ts';
import { eventually } from '../support/stack.ts';
import { startTimeSkippingHarness, type TimeSkippingHarness } from '../support/time-skipping.ts';

let h: TimeSkippingHarness;
let ids: { chainId: string; versionId: string };

beforeAll(async () => {
  h = await startTimeSkippingHarness('remind');
  const graph = parseChainFile(readFileSync(new URL('../../examples/reminders.yaml', import.meta.url), 'utf8'));
  const { chain, version } = await importChain(h.db.orm.em.fork(), graph);
  ids = { chainId: chain.id, versionId: version.id };
});
afterAll(async () => h?.close());

const outs = async (workflowId: string) => (await runEvents(h.db, workflowId)).filter((e) => e.type === 'message.out').map((e) => String(e.payload.text));

describe('reminders.yaml, the 3-day reminder ladder', () => {
  it('reminds every 3 days without an answer and says goodbye after 3 misses', async () => {
    const handle = await startSession(h.env.client, h.taskQueue, ids, { entry: 'api', channel: 'api', input: { task: 'the report' } });
    expect(await handle.result()).toMatchObject({ outcome: 'no_reply' });
    expect(await outs(handle.workflowId)).toEqual([
      'Have you finished the report? Reply any time.',
      'Just a friendly reminder (1 of 3).',
      'Have you finished the report? Reply any time.',
      'Just a friendly reminder (2 of 3).',
      'Have you finished the report? Reply any time.',
      "I'll stop reminding you now. Send /remind to start again.",
    ]);
    const timeouts = (await runEvents(h.db, handle.workflowId)).filter((e) => e.type === 'ask.timeout');
    expect(timeouts).toHaveLength(3);
  });

  it('stops the ladder when the user replies after a reminder', async () => {
    const handle = await startSession(h.env.client, h.taskQueue, ids, { entry: 'api', channel: 'api', visitor: `r-${randomUUID().slice(0, 6)}` });
    await eventually(async () => ((await handle.query(stateQuery)).wait?.kind === 'reply' ? true : undefined), 'the first question');
    await h.env.sleep('3 days');
    await eventually(async () => ((await handle.query(stateQuery)).variables.session.misses === 1 ? true : undefined), 'the first reminder');
    const reply = await handle.executeUpdate(sendUpdate, { args: [{ id: 'done-1', text: 'yes, done' }] });
    expect(reply.replies.map((r) => r.text)).toEqual(['Thanks for letting me know! The reminders are off.']);
    expect(await handle.result()).toMatchObject({ outcome: 'replied' });
  });
});
