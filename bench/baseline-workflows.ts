// The benchmark's baseline: the least a Temporal chat workflow can do — answer each
// `send` Update with one activity call. Bundled only by the benchmark.
import { condition, defineUpdate, proxyActivities, setHandler } from '@temporalio/workflow';

export interface BaselineActivities {
  answer(text: string): Promise<string>;
}

const { answer } = proxyActivities<BaselineActivities>({ startToCloseTimeout: '30 seconds' });

export const baselineSend = defineUpdate<{ reply: string }, [{ id: string; text: string }]>('send');

/** Waits for messages forever; each Update gets one activity's answer. */
export async function baseline(): Promise<void> {
  setHandler(baselineSend, async (message) => ({ reply: await answer(message.text) }));
  await condition(() => false);
}
