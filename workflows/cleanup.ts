import { proxyActivities } from '@temporalio/workflow';
import type { CleanupCounts, RetentionSettings } from '../activities/cleanup.ts';
import type { createCleanupActivities } from '../activities/cleanup.ts';

const { cleanupRetention } = proxyActivities<ReturnType<typeof createCleanupActivities>>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '1 minute', maximumInterval: '30 minutes', maximumAttempts: 5 },
});

/**
 * The daily retention cleanup, started by the `chainflow:retention-cleanup` Schedule
 * (temporal/schedules.ts): deletes rows past their retention (activities/cleanup.ts).
 */
export async function retentionCleanup(settings: RetentionSettings): Promise<CleanupCounts> {
  return cleanupRetention(settings);
}
