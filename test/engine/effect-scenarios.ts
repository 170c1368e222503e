import type { DialogueHarness } from '../support/dialogue.ts';

/** Scenarios of the effect nodes (http, llm, code), run by nodes.test.ts. */
export function effectScenarios(_harness: () => DialogueHarness): Record<string, () => Promise<void>> {
  return {};
}
