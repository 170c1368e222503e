import jsonata from 'jsonata';
import type { Json } from 'chainflow/plugin-sdk';

/** The input a transform reads: the rendered input as JSON when it is JSON, else the text itself; all variables when empty. */
export function inputOf(rendered: string, vars: Record<string, Json>): Json {
  if (rendered.trim() === '') return vars;
  try {
    return JSON.parse(rendered) as Json;
  } catch {
    return rendered;
  }
}

/** Evaluates a JSONata expression; `undefined` (no match) becomes null. Throws with JSONata's message and position. */
export async function transform(expression: string, input: Json): Promise<Json> {
  let compiled;
  try {
    compiled = jsonata(expression);
  } catch (error) {
    throw new Error(`the expression does not parse: ${describe(error)}`, { cause: error });
  }
  try {
    const result = (await compiled.evaluate(input)) as unknown;
    // JSONata's sequences are arrays with extra fields: through JSON they become plain values.
    return result === undefined ? null : (JSON.parse(JSON.stringify(result)) as Json);
  } catch (error) {
    throw new Error(`evaluating the expression failed: ${describe(error)}`, { cause: error });
  }
}

function describe(error: unknown): string {
  const e = error as { message?: string; position?: number; token?: string };
  const at = typeof e.position === 'number' ? ` (at ${e.position}${e.token ? `, near "${e.token}"` : ''})` : '';
  return `${e.message ?? String(error)}${at}`;
}
