import { asyncLocalStorage, type Context } from '@temporalio/activity';

/**
 * The current activity's context, or undefined when the function is called directly
 * (tests, scripts). Effect activities use it for heartbeats and cancellation only, so
 * they run the same with or without a worker around them.
 */
export function activityContext(): Context | undefined {
  return asyncLocalStorage.getStore();
}

/** Heartbeats when running inside an activity; a no-op otherwise. */
export function heartbeat(details?: unknown): void {
  activityContext()?.heartbeat(details);
}

/** Aborts when the activity is cancelled (or never, outside an activity). */
export function cancellationSignal(): AbortSignal | undefined {
  return activityContext()?.cancellationSignal;
}
