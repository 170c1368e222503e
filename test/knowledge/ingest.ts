// Uploads a fixture under test/fixtures/knowledge/ to a knowledge base through the API and
// waits until its ingestion workflow has made it searchable.
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { bearer, type ApiHarness } from '../api/support/api.ts';
import { eventually } from '../support/stack.ts';

export async function ingestFixture(t: ApiHarness, token: string, baseId: string, fixture: string, contentType: string): Promise<string> {
  const upload = await t.api
    .post(`/api/v1/knowledge-bases/${baseId}/documents?name=${fixture}`)
    .set(bearer(token))
    .set('Content-Type', contentType)
    .send(readFileSync(new URL(`../fixtures/knowledge/${fixture}`, import.meta.url)));
  expect(upload.status, upload.text).toBe(202);
  await eventually(async () => {
    const res = await t.api.get(`/api/v1/knowledge-bases/${baseId}/documents/${upload.body.id}`).set(bearer(token));
    if (res.body.status === 'failed') throw new Error(`ingestion failed: ${res.body.error}`);
    return res.body.status === 'ready' ? true : undefined;
  }, `${fixture} ingested`, 60_000);
  return upload.body.id as string;
}
