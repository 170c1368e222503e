// The chain compiler's verdict on the draft, computed in a Web Worker (validate.worker.ts)
// where the browser has them, else on the main thread.
import { toRaw } from 'vue';
import { compileChain, type CompileResult } from '../../../../chain/index.ts';
import type { CompileError, Graph } from './editor.types.ts';

/** What the editor shows of a compile: the errors and warnings (the IR stays in the worker). */
export interface Validation {
  ok: boolean;
  errors: CompileError[];
  warnings: CompileError[];
}
export interface ValidationRequest {
  id: number;
  graph: Graph;
}

export function validationOf(result: CompileResult): Validation {
  return { ok: result.ok, errors: result.ok ? [] : result.errors, warnings: result.warnings };
}

/** A validator that answers only the latest request (older answers are dropped). */
export function createValidator(onResult: (result: Validation) => void): { validate(graph: Graph): void; dispose(): void } {
  let worker: Worker | null = null;
  let latest = 0;
  try {
    worker = typeof Worker === 'undefined' ? null : new Worker(new URL('./validate.worker.ts', import.meta.url), { type: 'module' });
  } catch {
    worker = null;
  }
  worker?.addEventListener('message', (event: MessageEvent<{ id: number; result: Validation }>) => {
    if (event.data.id === latest) onResult(event.data.result);
  });
  // A worker that fails to load (a strict CSP, say) leaves validation to the main thread.
  worker?.addEventListener('error', () => {
    worker = null;
  });
  return {
    validate(graph) {
      latest++;
      const raw = toRaw(graph);
      if (worker) {
        try {
          worker.postMessage({ id: latest, graph: raw } satisfies ValidationRequest);
          return;
        } catch {
          worker = null;
        }
      }
      onResult(validationOf(compileChain(raw)));
    },
    dispose: () => worker?.terminate(),
  };
}
