// A pool of worker threads running QuickJS (code-sandbox-worker.ts). User code never
// runs on the activity worker's event loop: a runaway script costs one thread, which is
// interrupted by QuickJS at its deadline and, should that fail, terminated by the host.

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
export type SandboxErrorCode = 'code_error' | 'code_timeout' | 'code_memory' | 'code_invalid_result' | 'code_output_too_large';

/** A thread's answer. `resultJson` is main's return value as JSON (undefined when it returned nothing). */
export type SandboxReply =
  | { id: number; ok: true; resultJson: string | undefined; logs: string[] }
  | { id: number; ok: false; code: SandboxErrorCode; message: string; logs: string[] };

type WorkerMessage = { type: 'started'; id: number } | { type: 'reply'; reply: SandboxReply; retire?: boolean };

export interface CodeSandboxOptions {
  /** Threads running code at the same time; default min(4, CPUs). Further jobs queue. */
  poolSize?: number;
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
}

export interface CodeSandbox {
  /** Runs `main(message, variables)` of the source; never throws for problems of the code. */
  run(request: SandboxRequest): Promise<SandboxReply>;
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
  resolve: (reply: SandboxReply) => void;
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
    pending.resolve(reply);
  };

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
      const slot = slots.find((s) => s.job === undefined) ?? (slots.length < poolSize ? spawn() : undefined);
      if (!slot) return;
      const pending = queue.shift();
      if (!pending) return;
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
      return new Promise<SandboxReply>((resolve) => {
        queue.push({ job, resolve });
        pump();
      });
    },
    async close() {
      closed = true;
      for (const pending of queue.splice(0)) pending.resolve({ id: pending.job.id, ok: false, code: 'code_error', message: 'The code sandbox is shut down', logs: [] });
      const all = slots.splice(0);
      for (const slot of all) {
        clearTimeout(slot.timer);
        if (slot.job) slot.job.resolve({ id: slot.job.job.id, ok: false, code: 'code_error', message: 'The code sandbox is shut down', logs: [] });
      }
      await Promise.all(all.map((slot) => slot.worker.terminate()));
    },
  };
}
