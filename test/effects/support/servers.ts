// Real HTTP servers on loopback for the effect tests: a scriptable origin that records
// what it receives, and an OpenAI-compatible chat completions server speaking the real
// wire protocol (JSON and SSE streaming). Listening on '::' (dual stack), so a request
// for 127.0.0.1, ::1 or ::ffff:127.0.0.1 would all reach it: a blocked case is blocked by
// the guard, not by a missing server.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Logger } from '../../../lib/logger.ts';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

export type Handler = (req: RecordedRequest, res: ServerResponse) => unknown;

export interface TestServer {
  port: number;
  /** `http://127.0.0.1:<port>` */
  origin: string;
  requests: RecordedRequest[];
  /** Routes by path (without query); unknown paths answer 404. */
  route(path: string, handler: Handler): void;
  close(): Promise<void>;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '::', () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A scriptable origin server. */
export async function startTestServer(): Promise<TestServer> {
  const routes = new Map<string, Handler>();
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    void (async () => {
      const recorded: RecordedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: await readBody(req) };
      requests.push(recorded);
      const handler = routes.get(recorded.url.split('?')[0] ?? '');
      if (!handler) {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'no such route' }));
        return;
      }
      await handler(recorded, res);
    })().catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(error));
    });
  });
  const port = await listen(server);
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    requests,
    route: (path, handler) => routes.set(path, handler),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Sends a JSON answer. */
export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

// ---- OpenAI-compatible server ------------------------------------------------------------

/** What the fake provider does for one request. */
export type LlmBehaviour =
  | { kind: 'reply'; content: string; usage?: { prompt_tokens: number; completion_tokens: number } }
  /** An assistant message with `tool_calls` (finish_reason 'tool_calls'). */
  | { kind: 'tools'; calls: Array<{ id?: string; name: string; arguments: unknown }>; content?: string; usage?: { prompt_tokens: number; completion_tokens: number } }
  /** Decides from the request (e.g. the tool results in `messages`). */
  | { kind: 'dynamic'; answer: (body: Record<string, unknown>) => LlmBehaviour }
  | { kind: 'error'; status: number; message: string; type?: string; headers?: Record<string, string> }
  /** Closes the connection without an answer (a crashed or unreachable server). */
  | { kind: 'drop' }

  /**
   * A streamed reply whose content chunks the test releases: chunk `i` is written once
   * `release(i)` resolves. `dropAfter`: the connection breaks after that many chunks (a
   * provider or network failure mid-stream). Without `stream: true` the whole text comes at once.
   */
  | { kind: 'held'; pieces: string[]; release: (index: number) => Promise<void>; dropAfter?: number; usage?: { prompt_tokens: number; completion_tokens: number } };

export interface OpenAiServer {
  baseUrl: string;
  /** Parsed request bodies and headers, in order. */
  requests: Array<{ body: Record<string, unknown>; headers: IncomingMessage['headers'] }>;
  /** Behaviours for the next requests, used in order; the last one repeats. */
  script(...behaviours: LlmBehaviour[]): void;
  close(): Promise<void>;
}

type WireToolCall = { id: string; type: 'function'; function: { name: string; arguments: string } };
let toolCallCounter = 0;
function wireCalls(calls: Array<{ id?: string; name: string; arguments: unknown }>): WireToolCall[] {
  return calls.map((call) => ({ id: call.id ?? `call_${++toolCallCounter}`, type: 'function', function: { name: call.name, arguments: typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments) } }));
}

function completion(model: string, content: string | null, usage: { prompt_tokens: number; completion_tokens: number }, toolCalls?: WireToolCall[]) {
  return {
    id: 'chatcmpl-test',
    object: 'chat.completion',
    created: 1_700_000_000,
    model,
    choices: [{ index: 0, message: { role: 'assistant', content, refusal: null, ...(toolCalls ? { tool_calls: toolCalls } : {}) }, logprobs: null, finish_reason: toolCalls ? 'tool_calls' : 'stop' }],
    usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
  };
}

/** Splits a reply into a few SSE chunks like the real API does (tool call arguments too). */
function streamChunks(model: string, content: string, usage: { prompt_tokens: number; completion_tokens: number }, includeUsage: boolean, toolCalls?: WireToolCall[]): string[] {
  const base = { id: 'chatcmpl-test', object: 'chat.completion.chunk', created: 1_700_000_000, model };
  const pieces = content === '' ? [] : (content.match(/.{1,5}/gs) ?? []);
  const callChunks = (toolCalls ?? []).flatMap((call, index) => {
    const args = call.function.arguments.match(/.{1,8}/gs) ?? [''];
    return [
      { ...base, choices: [{ index: 0, delta: { tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.function.name, arguments: '' } }] }, finish_reason: null }] },
      ...args.map((part) => ({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index, function: { arguments: part } }] }, finish_reason: null }] })),
    ];
  });
  const events: unknown[] = [
    { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] },
    ...pieces.map((piece) => ({ ...base, choices: [{ index: 0, delta: { content: piece }, finish_reason: null }] })),
    ...callChunks,
    { ...base, choices: [{ index: 0, delta: {}, finish_reason: toolCalls ? 'tool_calls' : 'stop' }] },
  ];
  if (includeUsage) events.push({ ...base, choices: [], usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens } });
  return [...events.map((event) => `data: ${JSON.stringify(event)}\n\n`), 'data: [DONE]\n\n'];
}

/** An OpenAI chat completions server (`POST /v1/chat/completions`), JSON or SSE per `stream`. */
export async function startOpenAiServer(): Promise<OpenAiServer> {
  let behaviours: LlmBehaviour[] = [{ kind: 'reply', content: 'Hello!' }];
  const requests: OpenAiServer['requests'] = [];
  const server = createServer((req, res) => {
    void (async () => {
      const raw = await readBody(req);
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
        json(res, 404, { error: { message: `Unknown path ${req.url}`, type: 'invalid_request_error', code: 'unknown_url' } });
        return;
      }
      const body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
      requests.push({ body, headers: req.headers });
      let behaviour = behaviours.length > 1 ? (behaviours.shift() as LlmBehaviour) : (behaviours[0] as LlmBehaviour);
      while (behaviour.kind === 'dynamic') behaviour = behaviour.answer(body);
      const model = String(body.model);
      if (behaviour.kind === 'drop') {
        res.socket?.destroy();
        return;
      }
      if (behaviour.kind === 'error') {
        json(res, behaviour.status, { error: { message: behaviour.message, type: behaviour.type ?? 'invalid_request_error', param: null, code: null } }, behaviour.headers);
        return;
      }
      const usage = behaviour.usage ?? { prompt_tokens: 11, completion_tokens: 7 };
      if (behaviour.kind === 'held') {
        if (body.stream !== true) {
          json(res, 200, completion(model, behaviour.pieces.join(''), usage));
          return;
        }
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
        const base = { id: 'chatcmpl-test', object: 'chat.completion.chunk', created: 1_700_000_000, model };
        const write = (event: unknown) => res.write(`data: ${JSON.stringify(event)}\n\n`);
        write({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] });
        for (const [index, piece] of behaviour.pieces.entries()) {
          if (index === behaviour.dropAfter) {
            res.destroy();
            return;
          }
          await behaviour.release(index);
          write({ ...base, choices: [{ index: 0, delta: { content: piece }, finish_reason: null }] });
        }
        write({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
        if ((body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true) write({ ...base, choices: [], usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens } });
        res.end('data: [DONE]\n\n');
        return;
      }
      const toolCalls = behaviour.kind === 'tools' ? wireCalls(behaviour.calls) : undefined;
      const content = behaviour.content ?? '';
      if (body.stream === true) {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
        const includeUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
        for (const chunk of streamChunks(model, content, usage, includeUsage, toolCalls)) res.write(chunk);
        res.end();
        return;
      }
      json(res, 200, completion(model, toolCalls && content === '' ? null : content, usage, toolCalls));
    })().catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(error));
    });
  });
  const port = await listen(server);
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    script: (...next) => {
      behaviours = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// ---- logs --------------------------------------------------------------------------------

/** A real pino logger (debug level) whose JSON lines are kept for assertions. */
export function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(...chunk.toString('utf8').split('\n').filter((line) => line !== ''));
      callback();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}
