// The benchmark's baselines: what a team writing its bot directly on Temporal would do,
// and no more. Bundled only by the benchmark.
//   baseline       — long conversations: answers each `send` Update with one activity, forever;
//   baselineShort  — short sessions: starts, answers 2 Updates (one activity each), completes.
// The activity persists one row per message (as our run events are persisted).
import { condition, defineUpdate, proxyActivities, setHandler } from '@temporalio/workflow';

export interface BaselineActivities {
  answer(session: string, text: string): Promise<string>;
}

const { answer } = proxyActivities<BaselineActivities>({ startToCloseTimeout: '30 seconds' });

export const baselineSend = defineUpdate<{ reply: string }, [{ id: string; text: string }]>('send');

/** Waits for messages forever; each Update gets one activity's answer. */
export async function baseline(session: string): Promise<void> {
  setHandler(baselineSend, async (message) => ({ reply: await answer(session, message.text) }));
  await condition(() => false);
}

/** Answers two Updates (one activity each), then completes. */
export async function baselineShort(session: string): Promise<void> {
  let answered = 0;
  setHandler(baselineSend, async (message) => {
    const reply = await answer(session, message.text);
    answered++;
    return { reply };
  });
  await condition(() => answered >= 2);
}
