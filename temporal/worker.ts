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

/**
 * Memory figures behind the default sticky cache size, measured with `npm run bench --
 * --idle-only` (docs/performance.md › Memory): what one cached session adds to the
 * worker's resident memory, and what the workflow thread (the SDK's reusable V8 context
 * with our bundle) adds once the worker is created.
 */
export const CACHED_SESSION_MB = 0.5;
export const WORKFLOW_THREAD_MB = 60;
/**
 * Garbage the worker's heaps gather between major collections: with 10,000 idle sessions
 * and a full cache, RSS swung ~160 MB (540 → 700 MB, then back) at each major GC.
 */
export const GC_HEADROOM_MB = 150;
/** Never fewer cached sessions than this (the SDK's 40 concurrent workflow tasks need a slot each). */
export const MIN_CACHED_WORKFLOWS = 50;

/**
 * The sticky cache size that keeps a worker under `budgetMb` of resident memory: what is
 * left of the budget after the process's memory now (`rssMb`, read just before the worker
 * is created), the workflow thread and the GC headroom, divided by what one cached
 * session costs.
 * Sessions beyond it wait evicted and are replayed from history on their next message.
 *
 * @example workflowCacheSize(512, 250) // 104
 */
export function workflowCacheSize(budgetMb: number, rssMb: number): number {
  return Math.max(MIN_CACHED_WORKFLOWS, Math.floor((budgetMb - rssMb - WORKFLOW_THREAD_MB - GC_HEADROOM_MB) / CACHED_SESSION_MB));
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
