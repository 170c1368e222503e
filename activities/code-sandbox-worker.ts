// One sandbox thread of the code node (see code-sandbox.ts). Runs user JavaScript in
// QuickJS (WebAssembly, release-sync build): a fresh runtime and context per job, no
// host objects but a captured `console`, memory/stack limits and an interrupt deadline.
// The host thread terminates this thread if a job overruns its deadline anyway.

import { parentPort } from 'node:worker_threads';
import { newQuickJSWASMModule, RELEASE_SYNC, type QuickJSContext, type QuickJSHandle, type QuickJSWASMModule } from 'quickjs-emscripten';
import type { SandboxJob, SandboxReply } from './code-sandbox.ts';

const STACK_BYTES = 256 * 1024;

let modulePromise: Promise<QuickJSWASMModule> | undefined;

class LogBuffer {
  readonly lines: string[] = [];
  private bytes = 0;
  private dropped = 0;
  private readonly maxLines: number;
  private readonly maxBytes: number;
  private readonly maxLineChars: number;
  constructor(maxLines: number, maxBytes: number, maxLineChars: number) {
    this.maxLines = maxLines;
    this.maxBytes = maxBytes;
    this.maxLineChars = maxLineChars;
  }
  push(line: string): void {
    const clipped = line.length > this.maxLineChars ? `${line.slice(0, this.maxLineChars)}…` : line;
    if (this.lines.length >= this.maxLines || this.bytes + clipped.length > this.maxBytes) {
      this.dropped++;
      return;
    }
    this.bytes += clipped.length;
    this.lines.push(clipped);
  }
  result(): string[] {
    return this.dropped > 0 ? [...this.lines, `… ${this.dropped} more console line(s) not kept`] : this.lines;
  }
}

interface JsError {
  name: string;
  message: string;
  line: number | undefined;
}

function readError(context: QuickJSContext, handle: QuickJSHandle): JsError {
  const dumped: unknown = context.dump(handle);
  if (dumped !== null && typeof dumped === 'object') {
    const error = dumped as { name?: unknown; message?: unknown; stack?: unknown; lineNumber?: unknown };
    const stack = typeof error.stack === 'string' ? error.stack : '';
    const fromStack = /main\.js:(\d+)/.exec(stack)?.[1];
    const line = typeof error.lineNumber === 'number' ? error.lineNumber : fromStack !== undefined ? Number(fromStack) : undefined;
    return { name: typeof error.name === 'string' ? error.name : 'Error', message: typeof error.message === 'string' ? error.message : JSON.stringify(dumped), line };
  }
  return { name: 'Error', message: `uncaught ${typeof dumped === 'string' ? JSON.stringify(dumped) : String(dumped)}`, line: undefined };
}

function formatArg(context: QuickJSContext, handle: QuickJSHandle): string {
  if (context.typeof(handle) === 'string') return context.getString(handle);
  try {
    const value: unknown = context.dump(handle);
    return typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  } catch {
    return '[unprintable]';
  }
}

function run(module: QuickJSWASMModule, job: SandboxJob): SandboxReply {
  const logs = new LogBuffer(job.maxLogLines, job.maxLogBytes, 1000);
  const runtime = module.newRuntime();
  let interrupted = false;
  const deadline = Date.now() + job.timeoutMs;
  runtime.setMemoryLimit(job.memoryBytes);
  runtime.setMaxStackSize(STACK_BYTES);
  runtime.setInterruptHandler(() => (interrupted ||= Date.now() > deadline));
  const context = runtime.newContext();
  const handles: QuickJSHandle[] = [];
  const keep = (handle: QuickJSHandle): QuickJSHandle => {
    handles.push(handle);
    return handle;
  };
  const fail = (handle: QuickJSHandle, fallback: 'code_error' | 'code_invalid_result'): SandboxReply => {
    keep(handle);
    const error = readError(context, handle);
    if (interrupted) return { id: job.id, ok: false, code: 'code_timeout', message: `The code ran longer than its limit of ${job.timeoutMs} ms`, logs: logs.result() };
    if (error.name === 'InternalError' && /out of memory/.test(error.message)) {
      return { id: job.id, ok: false, code: 'code_memory', message: `The code used more than its memory limit of ${Math.round(job.memoryBytes / 1024 / 1024)} MB`, logs: logs.result() };
    }
    return { id: job.id, ok: false, code: fallback, message: `${error.name}: ${error.message}${error.line !== undefined ? ` (line ${error.line})` : ''}`, logs: logs.result() };
  };

  try {
    // Taken before user code runs, so redefining JSON in the sandbox cannot fool the host.
    const jsonParse = keep(context.unwrapResult(context.evalCode('JSON.parse', 'prelude.js')));
    const jsonStringify = keep(context.unwrapResult(context.evalCode('JSON.stringify', 'prelude.js')));
    const consoleObject = keep(context.newObject());
    for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
      const fn = keep(
        context.newFunction(level, (...args) => {
          const text = args.map((arg) => formatArg(context, arg)).join(' ');
          logs.push(level === 'log' || level === 'info' ? text : `[${level}] ${text}`);
        }),
      );
      context.setProp(consoleObject, level, fn);
    }
    context.setProp(context.global, 'console', consoleObject);

    const evaluated = context.evalCode(job.source, 'main.js', { type: 'global' });
    if (evaluated.error) return fail(evaluated.error, 'code_error');
    keep(evaluated.value);

    const main = context.evalCode('typeof main === "function" ? main : undefined', 'runner.js');
    if (main.error) return fail(main.error, 'code_error');
    keep(main.value);
    if (context.typeof(main.value) !== 'function') {
      return { id: job.id, ok: false, code: 'code_error', message: 'The code does not define a function main(message, variables)', logs: logs.result() };
    }

    const message = context.callFunction(jsonParse, context.undefined, keep(context.newString(job.messageJson)));
    if (message.error) return fail(message.error, 'code_error');
    const variables = context.callFunction(jsonParse, context.undefined, keep(context.newString(job.variablesJson)));
    if (variables.error) return fail(variables.error, 'code_error');
    const called = context.callFunction(main.value, context.undefined, keep(message.value), keep(variables.value));
    if (called.error) return fail(called.error, 'code_error');
    let result = keep(called.value);

    // async main: settle its promise by running the job queue (there is no I/O to wait for).
    if (context.typeof(result) === 'object') {
      let state = context.getPromiseState(result);
      while (state.type === 'pending') {
        const jobs = runtime.executePendingJobs();
        if (jobs.error) return fail(jobs.error, 'code_error');
        if (jobs.value === 0) {
          return { id: job.id, ok: false, code: 'code_error', message: 'main returned a promise that never settles (there is no I/O or timer to wait for)', logs: logs.result() };
        }
        state = context.getPromiseState(result);
      }
      if (state.type === 'rejected') return fail(state.error, 'code_error');
      if (!state.notAPromise) result = keep(state.value);
    }

    const json = context.callFunction(jsonStringify, context.undefined, result);
    if (json.error) return fail(json.error, 'code_invalid_result');
    keep(json.value);
    const text = context.typeof(json.value) === 'string' ? context.getString(json.value) : undefined;
    if (text !== undefined && Buffer.byteLength(text) > job.maxOutputBytes) {
      return { id: job.id, ok: false, code: 'code_output_too_large', message: `The result is ${Buffer.byteLength(text)} bytes of JSON; the limit is ${job.maxOutputBytes}`, logs: logs.result() };
    }
    return { id: job.id, ok: true, resultJson: text, logs: logs.result() };
  } finally {
    for (const handle of handles.reverse()) if (handle.alive) handle.dispose();
    context.dispose();
    runtime.dispose();
  }
}

parentPort?.on('message', (job: SandboxJob) => {
  modulePromise ??= newQuickJSWASMModule(RELEASE_SYNC);
  modulePromise.then(
    (module) => {
      parentPort?.postMessage({ type: 'started', id: job.id });
      let reply: SandboxReply;
      try {
        reply = run(module, job);
      } catch (error) {
        // The WebAssembly instance may be damaged: answer, then let the host replace this thread.
        parentPort?.postMessage({ type: 'reply', reply: { id: job.id, ok: false, code: 'code_error', message: `The sandbox failed: ${error instanceof Error ? error.message : String(error)}`, logs: [] } satisfies SandboxReply, retire: true });
        return;
      }
      parentPort?.postMessage({ type: 'reply', reply });
    },
    (error: unknown) => {
      parentPort?.postMessage({ type: 'reply', reply: { id: job.id, ok: false, code: 'code_error', message: `The sandbox could not start: ${error instanceof Error ? error.message : String(error)}`, logs: [] } satisfies SandboxReply, retire: true });
    },
  );
});
