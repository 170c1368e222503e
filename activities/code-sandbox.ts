// A pool of worker threads running QuickJS (code-sandbox-worker.ts). User code never
// runs on the activity worker's event loop: a runaway script costs one thread, which is
// interrupted by QuickJS at its deadline and, should that fail, terminated by the host.
// One chain cannot take the whole pool: each key (chain id) runs at most `perKeyLimit`
// jobs at a time, the queue is served in order among keys under their limit, and a job
// that waits longer than `queueDeadlineMs` is answered `code_busy` instead of running late.

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/** A job sent to a sandbox thread. */
export interface SandboxJob {
  id: number;
  source: string;
  messageJson: string;
  variablesJson: string;
  timeoutMs: number;
  memoryBytes: number;
  maxOutputBytes: number;
  maxLogLines: number;
  maxLogBytes: number;
}

/** Failure codes of the sandbox; they become `error.code` of the code node. */
export type SandboxErrorCode = 'code_error' | 'code_timeout' | 'code_memory' | 'code_invalid_result' | 'code_output_too_large' | 'code_busy' | 'code_cancelled';

/** A thread's answer. `resultJson` is main's return value as JSON (undefined when it returned nothing). */
export type SandboxReply =
  | { id: number; ok: true; resultJson: string | undefined; logs: string[] }
  | { id: number; ok: false; code: SandboxErrorCode; message: string; logs: string[] };

type WorkerMessage = { type: 'started'; id: number } | { type: 'reply'; reply: SandboxReply; retire?: boolean };

export interface CodeSandboxOptions {
  /** Threads running code at the same time; default min(4, CPUs). Further jobs queue. */
  poolSize?: number;
  /** Jobs of one key (chain) running at the same time; default half the pool (at least 1). */
  perKeyLimit?: number;
  /** Longest wait in the queue before a job is answered `code_busy`; default 10 s. */
  queueDeadlineMs?: number;
  /** Extra time after a job's limit before its thread is terminated; default 1000 ms. */
  hardKillGraceMs?: number;
  /** Largest result (JSON) in bytes; default 64 KiB. */
  maxOutputBytes?: number;
  /** console lines kept per run; default 50 lines, 8 KiB. */
  maxLogLines?: number;
  maxLogBytes?: number;
}

export interface SandboxRequest {
  source: string;
  message: unknown;
  variables: unknown;
  timeoutMs: number;
  memoryMb: number;
  /** Whose job it is (the chain id): at most `perKeyLimit` jobs of one key run at once; no key, no such limit. */
  key?: string;
  /** Aborting drops a queued job, or stops a running one (its thread is replaced); the reply is `code_cancelled`. */
  signal?: AbortSignal;
}

/** What the pool is doing, for heartbeats and tests. */
export interface SandboxStats {
  running: number;
  queued: number;
}

export interface CodeSandbox {
  /** Runs `main(message, variables)` of the source; never throws for problems of the code. */
  run(request: SandboxRequest): Promise<SandboxReply>;
  /** Running and queued jobs, in total or of one key. */
  stats(key?: string): SandboxStats;
  /** Terminates every thread; pending runs resolve with an error. */
  close(): Promise<void>;
}

interface Slot {
  worker: Worker;
  job: Pending | undefined;
  timer: NodeJS.Timeout | undefined;
}

interface Pending {
  job: SandboxJob;
  /** Undefined: not limited per key. */
  key: string | undefined;
  resolve: (reply: SandboxReply) => void;
  /** The queue deadline (while queued). */
  deadline?: NodeJS.Timeout;
  /** Removes the abort listener. */
  release?: () => void;
}

/** Time a thread may take to load QuickJS before its first job counts as stuck. */
const START_TIMEOUT_MS = 30_000;
const WORKER_URL = new URL('./code-sandbox-worker.ts', import.meta.url);

/**
 * Creates a sandbox pool. Threads start on demand, are kept while idle (unref'd, so they
 * never keep the process alive) and are replaced after a hard kill.
 *
 * @example
 * const sandbox = createCodeSandbox({ poolSize: 2 });
 * await sandbox.run({ source: 'function main(m) { return { n: m.text.length } }', message: { text: 'hi' }, variables: {}, timeoutMs: 1000, memoryMb: 32 });
 */
export function createCodeSandbox(options: CodeSandboxOptions = {}): CodeSandbox {
  const poolSize = Math.max(1, options.poolSize ?? Math.min(4, availableParallelism()));
  const perKeyLimit = Math.max(1, Math.min(poolSize, options.perKeyLimit ?? Math.floor(poolSize / 2)));
  const queueDeadlineMs = options.queueDeadlineMs ?? 10_000;
  const grace = options.hardKillGraceMs ?? 1000;
  const limits = {
    maxOutputBytes: options.maxOutputBytes ?? 64 * 1024,
    maxLogLines: options.maxLogLines ?? 50,
    maxLogBytes: options.maxLogBytes ?? 8 * 1024,
  };
  const slots: Slot[] = [];
  const queue: Pending[] = [];
  let nextId = 1;
  let closed = false;

  const settle = (slot: Slot, reply: SandboxReply): void => {
    const pending = slot.job;
    if (!pending || pending.job.id !== reply.id) return;
    clearTimeout(slot.timer);
    slot.job = undefined;
    slot.timer = undefined;
    slot.worker.unref();
    pending.release?.();
    pending.resolve(reply);
  };

  /** Answers a job that has not started, taking it out of the queue. */
  const dropQueued = (pending: Pending, reply: SandboxReply): void => {
    const index = queue.indexOf(pending);
    if (index < 0) return;
    queue.splice(index, 1);
    clearTimeout(pending.deadline);
    pending.release?.();
    pending.resolve(reply);
  };

  const runningOf = (key: string | undefined): number => slots.filter((slot) => slot.job?.key === key).length;

  const retire = (slot: Slot): void => {
    const index = slots.indexOf(slot);
    if (index >= 0) slots.splice(index, 1);
    clearTimeout(slot.timer);
    void slot.worker.terminate();
  };

  const kill = (slot: Slot, reply: SandboxReply): void => {
    settle(slot, reply);
    retire(slot);
    pump();
  };

  const spawn = (): Slot => {
    const worker = new Worker(WORKER_URL, { resourceLimits: { stackSizeMb: 8 } });
    worker.unref();
    const slot: Slot = { worker, job: undefined, timer: undefined };
    worker.on('message', (message: WorkerMessage) => {
      const pending = slot.job;
      if (!pending) return;
      if (message.type === 'started' && message.id === pending.job.id) {
        // The deadline inside the thread runs from now; the hard kill a little later.
        clearTimeout(slot.timer);
        slot.timer = setTimeout(
          () => kill(slot, { id: pending.job.id, ok: false, code: 'code_timeout', message: `The code ran longer than its limit of ${pending.job.timeoutMs} ms and was stopped`, logs: [] }),
          pending.job.timeoutMs + grace,
        );
      } else if (message.type === 'reply') {
        settle(slot, message.reply);
        if (message.retire) retire(slot);
        pump();
      }
    });
    const crashed = (why: string): void => {
      const pending = slot.job;
      if (pending) settle(slot, { id: pending.job.id, ok: false, code: 'code_error', message: `The sandbox stopped unexpectedly (${why})`, logs: [] });
      retire(slot);
      pump();
    };
    worker.on('error', (error) => crashed(error.message));
    worker.on('exit', (code) => {
      if (slots.includes(slot)) crashed(`exit code ${code}`);
    });
    slots.push(slot);
    return slot;
  };

  const pump = (): void => {
    while (!closed && queue.length > 0) {
      // The oldest job whose key is under its limit; the others keep their place.
      const index = queue.findIndex((candidate) => candidate.key === undefined || runningOf(candidate.key) < perKeyLimit);
      if (index < 0) return;
      const free = slots.find((s) => s.job === undefined);
      if (!free && slots.length >= poolSize) return;
      const slot = free ?? spawn();
      const [pending] = queue.splice(index, 1);
      if (!pending) return;
      clearTimeout(pending.deadline);
      slot.job = pending;
      slot.worker.ref();
      slot.timer = setTimeout(
        () => kill(slot, { id: pending.job.id, ok: false, code: 'code_error', message: 'The sandbox did not start in time', logs: [] }),
        START_TIMEOUT_MS,
      );
      slot.worker.postMessage(pending.job);
    }
  };

  return {
    run(request) {
      if (closed) return Promise.resolve({ id: 0, ok: false, code: 'code_error', message: 'The code sandbox is shut down', logs: [] });
      const job: SandboxJob = {
        id: nextId++,
        source: request.source,
        messageJson: JSON.stringify(request.message ?? {}),
        variablesJson: JSON.stringify(request.variables ?? {}),
        timeoutMs: request.timeoutMs,
        memoryBytes: request.memoryMb * 1024 * 1024,
        ...limits,
      };
      const cancelled = (): SandboxReply => ({ id: job.id, ok: false, code: 'code_cancelled', message: 'The code run was cancelled', logs: [] });
      if (request.signal?.aborted) return Promise.resolve(cancelled());
      return new Promise<SandboxReply>((resolve) => {
        const pending: Pending = { job, key: request.key, resolve };
        pending.deadline = setTimeout(
          () =>
            dropQueued(pending, {
              id: job.id,
              ok: false,
              code: 'code_busy',
              message: `The code sandbox was busy: the code waited ${queueDeadlineMs} ms for a free thread without starting`,
              logs: [],
            }),
          queueDeadlineMs,
        );
        pending.deadline.unref();
        const signal = request.signal;
        if (signal) {
          const onAbort = (): void => {
            if (queue.includes(pending)) dropQueued(pending, cancelled());
            else {
              const slot = slots.find((s) => s.job === pending);
              if (slot) kill(slot, cancelled());
            }
          };
          signal.addEventListener('abort', onAbort, { once: true });
          pending.release = () => signal.removeEventListener('abort', onAbort);
        }
        queue.push(pending);
        pump();
      });
    },
    stats(key) {
      const mine = (pending: Pending | undefined): boolean => pending !== undefined && (key === undefined || pending.key === key);
      return { running: slots.filter((slot) => mine(slot.job)).length, queued: queue.filter(mine).length };
    },
    async close() {
      closed = true;
      for (const pending of queue.splice(0)) {
        clearTimeout(pending.deadline);
        pending.release?.();
        pending.resolve({ id: pending.job.id, ok: false, code: 'code_error', message: 'The code sandbox is shut down', logs: [] });
      }
      const all = slots.splice(0);
      for (const slot of all) {
        clearTimeout(slot.timer);
        if (slot.job) slot.job.resolve({ id: slot.job.job.id, ok: false, code: 'code_error', message: 'The code sandbox is shut down', logs: [] });
      }
      await Promise.all(all.map((slot) => slot.worker.terminate()));
    },
  };
}
