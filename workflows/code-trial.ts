import { proxyActivities } from '@temporalio/workflow';
import type { CodeTrialInput, CodeTrialResult, createCodeActivities } from '../activities/code.ts';

// The activity's own limit (the node's timeoutMs, at most 10 s) ends a run; this bounds
// the queue wait and the hard kill on top. No retries: a trial answers once.
const { trialCode } = proxyActivities<ReturnType<typeof createCodeActivities>>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 1 },
});

/**
 * The editor's "run with sample input" (POST /chains/{id}/code/run): one `trialCode`
 * activity on the worker's code sandbox, so a trial gets exactly a session's limits.
 */
export async function codeTrial(input: CodeTrialInput): Promise<CodeTrialResult> {
  return trialCode(input);
}
