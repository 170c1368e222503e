// Shared fixtures of the runs, bots and credentials tests: a chain with an API start,
// unique bot tokens, and the decoded text of a workflow's history (to search it for
// secrets).

import { randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';

/** A graph that compiles and has an API start: api → ask → message. */
export function apiGraph(slug: string, text = 'What should I do?'): Record<string, unknown> {
  return {
    slug,
    name: `Chain ${slug}`,
    nodes: [
      { id: 'start', type: 'start', position: { x: 0, y: 0 }, data: { trigger: { kind: 'api' } } },
      { id: 'ask', type: 'ask', position: { x: 200, y: 0 }, data: { prompt: text, variable: 'session.answer' } },
      { id: 'bye', type: 'message', position: { x: 400, y: 0 }, data: { text: 'Doing {{ session.answer }} for {{ run.from }}' } },
    ],
    edges: [
      { id: 'e1', source: 'start', target: 'ask' },
      { id: 'e2', source: 'ask', sourcePort: 'next', target: 'bye' },
    ],
  };
}

let bots = 0;
/** A well-formed Bot API token for a bot id no other test uses. */
export function botToken(): string {
  const id = `${Date.now() % 1_000_000_000}${String(++bots).padStart(3, '0')}${Math.floor(Math.random() * 1000)}`;
  return `${id}:AA${randomBytes(26).toString('base64url')}`;
}

/**
 * Every payload of a workflow's history (all of its runs' events as JSON, with each
 * payload's base64 data decoded), as one text: what a secret must never appear in.
 */
export async function historyText(client: Client, workflowId: string): Promise<string> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const parts: string[] = [];
  const walk = (value: unknown): void => {
    if (value instanceof Uint8Array) {
      parts.push(Buffer.from(value).toString('utf8'));
      return;
    }
    if (Array.isArray(value)) {
      value.forEach(walk);
      return;
    }
    if (value && typeof value === 'object') {
      const record = value as Record<string, unknown>;
      if (typeof record.data === 'string') parts.push(Buffer.from(record.data, 'base64').toString('utf8'));
      for (const v of Object.values(record)) walk(v);
      return;
    }
    if (typeof value === 'string') parts.push(value);
  };
  walk(history);
  return parts.join('\n');
}
