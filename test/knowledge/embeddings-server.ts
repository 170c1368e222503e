// A loopback server speaking the OpenAI embeddings protocol (POST /v1/embeddings) with
// deterministic embeddings the test controls: a bag of word stems (the first five letters
// of each word, lower case) hashed into DIMENSIONS buckets. Texts sharing words are close.

import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const DIMENSIONS = 256;

export function stems(text: string): string[] {
  return (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).filter((w) => w.length > 2).map((w) => w.slice(0, 5));
}

/** The test's embedding of a text. */
export function embedding(text: string): number[] {
  const v = new Array<number>(DIMENSIONS).fill(0);
  for (const stem of stems(text)) {
    const h = createHash('sha1').update(stem).digest();
    v[h.readUInt16BE(0) % DIMENSIONS]! += 1;
  }
  return v;
}

export interface EmbeddingsServer {
  baseUrl: string;
  /** Every request's inputs, in order. */
  requests: string[][];
  /** Answer the next N requests with 429 and Retry-After-Ms. */
  rateLimitNext(n: number, retryAfterMs: number): void;
  /** Requests answered 429 so far. */
  rateLimited: number;
  /** Holds requests (they wait) until release() while set. */
  hold(): void;
  release(): void;
  /** Lets the oldest held request through and keeps holding the ones after it. */
  releaseOne(): void;
  /** Requests waiting in hold. */
  held: number;
  close(): Promise<void>;
}

export async function startEmbeddingsServer(apiKey: string): Promise<EmbeddingsServer> {
  let limitNext = 0;
  let retryMs = 0;
  let holding = false;
  const waiting: (() => void)[] = [];
  const state = {
    requests: [] as string[][],
    rateLimited: 0,
  };
  const answer = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (req.method !== 'POST' || req.url !== '/v1/embeddings') return answer(res, 404, { error: { message: 'not found', type: 'invalid_request_error' } });
    if (req.headers.authorization !== `Bearer ${apiKey}`) return answer(res, 401, { error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' } });
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { model: string; input: string | string[] };
    const inputs = typeof body.input === 'string' ? [body.input] : body.input;
    if (limitNext > 0) {
      limitNext--;
      state.rateLimited++;
      return answer(res, 429, { error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' } }, { 'retry-after-ms': String(retryMs) });
    }
    if (holding) await new Promise<void>((resolve) => waiting.push(resolve));
    state.requests.push(inputs);
    answer(res, 200, {
      object: 'list',
      model: body.model,
      data: inputs.map((text, index) => ({ object: 'embedding', index, embedding: embedding(text) })),
      usage: { prompt_tokens: inputs.join(' ').length, total_tokens: inputs.join(' ').length },
    });
  };
  const server = createServer((req, res) => void handle(req, res).catch(() => res.destroy()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    get requests() {
      return state.requests;
    },
    get rateLimited() {
      return state.rateLimited;
    },
    get held() {
      return waiting.length;
    },
    rateLimitNext(n, ms) {
      limitNext = n;
      retryMs = ms;
    },
    hold() {
      holding = true;
    },
    release() {
      holding = false;
      for (const w of waiting.splice(0)) w();
    },
    releaseOne() {
      waiting.shift()?.();
    },
    close: () =>
      new Promise<void>((resolve) => {
        holding = false;
        for (const w of waiting.splice(0)) w();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
