import { Worker, type NativeConnection } from '@temporalio/worker';

export interface WorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  activities: object;
  /** Path of a pre-built workflow bundle (see temporal/bundle.ts). */
  workflowBundlePath: string;
  /** Seconds activities get to finish on shutdown. */
  shutdownGraceTime?: string;
  /** Sessions kept in the worker's memory (the sticky cache). */
  maxCachedWorkflows?: number;
  /**
   * Milliseconds a cached session's task waits for this worker before another worker may
   * take it (SDK default 10 s); shorter means a faster take-over when a worker dies.
   */
  stickyQueueScheduleToStartTimeoutMs?: number;
}

/** Creates the Chainflow worker for one task queue (not yet running). */
export async function createWorker(opts: WorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    activities: opts.activities,
    workflowBundle: { codePath: opts.workflowBundlePath },
    shutdownGraceTime: opts.shutdownGraceTime ?? '10s',
    ...(opts.maxCachedWorkflows !== undefined ? { maxCachedWorkflows: opts.maxCachedWorkflows } : {}),
    ...(opts.stickyQueueScheduleToStartTimeoutMs !== undefined ? { stickyQueueScheduleToStartTimeout: opts.stickyQueueScheduleToStartTimeoutMs } : {}),
  });
}
