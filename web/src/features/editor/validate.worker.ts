// Validation off the main thread: the chain compiler runs here on every (debounced) edit,
// so typing and panning a 1,000-node chain never wait for it.
import { compileChain } from '../../../../chain/index.ts';
import type { Graph } from './editor.types.ts';
import { validationOf, type ValidationRequest } from './validation.ts';

self.addEventListener('message', (event: MessageEvent<ValidationRequest>) => {
  const { id, graph } = event.data;
  self.postMessage({ id, result: validationOf(compileChain(graph as Graph)) });
});
