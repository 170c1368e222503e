import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { z } from 'zod';
import type { Logger } from '../../lib/logger.ts';
import type { EventsHub, Topic } from './events-hub.ts';

/** Who is connected, as the authenticator says; opaque to this module. */
export type Principal = { id: string } & Record<string, unknown>;

/** What the authenticator answers for an access token, read afresh from the database. */
export type AuthResult =
  | { ok: true; principal: Principal; /** When the token expires; the socket is closed then unless a fresh `auth` came. */ expiresAt: Date | null }
  | { ok: false; code: string; message: string };

export interface LiveDeps {
  hub: EventsHub;
  logger: Logger;
  /** Verifies an access token (the same JWT as the REST API) and loads its user now. */
  authenticate(token: string): Promise<AuthResult>;
  /** Whether the principal may watch a run or a chain. */
  authorize(principal: Principal, topic: Topic): Promise<boolean>;
  /** Path of the endpoint. */
  path?: string;
  /** How long a socket opened without a token may stay silent before it is closed (default 10 s). */
  authTimeoutMs?: number;
}

export interface LiveEndpoint {
  /**
   * Re-reads the principal of every socket of these users (every socket when omitted) and
   * re-checks each subscription: a refused token closes the socket, a subscription no
   * longer allowed ends with `{"type":"unsubscribed",…}`.
   */
  recheck(userIds?: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * A principal with this key (a web-chat visitor) gets only the run events of these types
 * (its own messages in and out) and the streamed partials of its replies, never node,
 * variable or error events.
 */
export const VISITOR_EVENTS = 'onlyEventTypes';

/** Close code of a socket whose access token is missing, refused or expired. */
export const CLOSE_UNAUTHORIZED = 4401;

const subscribeSchema = z.strictObject({
  type: z.literal('subscribe'),
  runId: z.string().min(1).max(300).optional(),
  chainId: z.uuid().optional(),
  /** Resume after this event id (the last one received before a reconnect). */
  afterId: z.number().int().min(0).default(0),
});
const unsubscribeSchema = z.strictObject({ type: z.literal('unsubscribe'), runId: z.string().optional(), chainId: z.string().optional() });
const authSchema = z.strictObject({ type: z.literal('auth'), accessToken: z.string().min(1).max(8192) });
const messageSchema = z.union([authSchema, subscribeSchema, unsubscribeSchema]);

const HOW_TO_AUTH = 'send Authorization: Bearer <accessToken> with the upgrade, or {"type":"auth","accessToken":"…"} as the first message';
const FORBIDDEN = 'You may not watch this run or chain.';

interface Connection {
  ws: WebSocket;
  token: string | null;
  principal: Principal | null;
  subs: Map<string, { topic: Topic; off: () => void }>;
  timer: NodeJS.Timeout | undefined;
  /** Messages and re-checks of one socket run one after another. */
  queue: Promise<void>;
}

/**
 * WebSocket `/api/v1/ws`: subscribe to a run or a chain and receive its run events as
 * workers flush them, from any API replica (see events-hub.ts). Access tokens never go in
 * the URL (`?token=` is refused): send `Authorization: Bearer` with the upgrade, or (from
 * a browser, which cannot set headers on a WebSocket) `{"type":"auth","accessToken":"…"}`
 * first, answered with `{"type":"authenticated"}`. A later `auth` with a fresh token
 * replaces the principal. The user is read again on every subscribe and whenever their
 * access changes (see {@link LiveEndpoint.recheck}).
 *
 * Client → `{"type":"subscribe","runId":"web:…","afterId":0}` (or `chainId`),
 * `{"type":"unsubscribe",…}`. Server → `{"type":"subscribed",topic}`,
 * `{"type":"events","topic",events:[{id,runId,type,nodeId,payload,at}]}`,
 * `{"type":"reply.partial",topic,runId,chainId,replyId,nodeId,text,seq}` (the text so far of
 * an answer a model is streaming; a higher `seq` supersedes, the `message.out` event
 * replaces it), `{"type":"unsubscribed",topic,reason,message}`, `{"type":"error",code?,message}`.
 * Reconnect with `afterId` = the last id received. A principal carrying {@link VISITOR_EVENTS}
 * (a web-chat visitor, see index.ts) gets only the events of those types.
 */
export function attachLiveEvents(server: Server, deps: LiveDeps): LiveEndpoint {
  const path = deps.path ?? '/api/v1/ws';
  const authTimeoutMs = deps.authTimeoutMs ?? 10_000;
  const wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 });
  const connections = new Set<Connection>();

  const refuse = (socket: Duplex, status: '400 Bad Request' | '401 Unauthorized', error: string, message: string) =>
    socket.end(`HTTP/1.1 ${status}\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n${JSON.stringify({ error, message })}`);

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== path) return;
    if (url.searchParams.has('token')) {
      refuse(socket, '400 Bad Request', 'token_in_url', `Access tokens are not accepted in the URL (?token= ends up in proxy logs); ${HOW_TO_AUTH}.`);
      return;
    }
    const header = req.headers.authorization;
    if (header === undefined) {
      wss.handleUpgrade(req, socket, head, (ws) => serve(ws, null, null));
      return;
    }
    const token = /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
    if (!token) {
      refuse(socket, '401 Unauthorized', 'unauthenticated', "The Authorization header must be 'Bearer <accessToken>'.");
      return;
    }
    deps
      .authenticate(token)
      .then((auth) => {
        if (!auth.ok) refuse(socket, '401 Unauthorized', auth.code, auth.message);
        else wss.handleUpgrade(req, socket, head, (ws) => serve(ws, token, auth));
      })
      .catch((err: unknown) => {
        deps.logger.warn({ err }, 'live events: authentication failed');
        socket.destroy();
      });
  };
  server.on('upgrade', onUpgrade);

  const send = (conn: Connection, data: unknown) => {
    if (conn.ws.readyState === conn.ws.OPEN) conn.ws.send(JSON.stringify(data));
  };
  const shut = (conn: Connection, code: string, message: string) => {
    send(conn, { type: 'error', code, message });
    conn.ws.close(CLOSE_UNAUTHORIZED, code);
    dropAll(conn);
  };
  function dropAll(conn: Connection): void {
    clearTimeout(conn.timer);
    for (const { off } of conn.subs.values()) off();
    conn.subs.clear();
  }
  function enqueue(conn: Connection, op: () => Promise<void>): void {
    conn.queue = conn.queue.then(op).catch((err: unknown) => {
      deps.logger.warn({ err }, 'live events: request failed');
      send(conn, { type: 'error', message: 'The request failed; try again.' });
    });
  }

  /** Takes a verified token as the socket's principal; closes the socket at its expiry. */
  function adopt(conn: Connection, token: string, auth: Extract<AuthResult, { ok: true }>): void {
    conn.token = token;
    conn.principal = auth.principal;
    clearTimeout(conn.timer);
    conn.timer = undefined;
    if (auth.expiresAt) {
      const left = Math.min(Math.max(auth.expiresAt.getTime() - Date.now(), 0), 2 ** 31 - 1);
      conn.timer = setTimeout(() => shut(conn, 'token_expired', `The access token has expired; reconnect, or send a fresh {"type":"auth"} before it expires.`), left);
    }
  }

  /** Reads the user again; false (and the socket closed) when the token no longer holds. */
  async function refresh(conn: Connection): Promise<boolean> {
    if (!conn.token) return false;
    const auth = await deps.authenticate(conn.token);
    if (conn.ws.readyState !== conn.ws.OPEN) return false;
    if (!auth.ok) {
      shut(conn, auth.code, auth.message);
      return false;
    }
    adopt(conn, conn.token, auth);
    return true;
  }

  /** Ends the subscriptions the current principal may no longer hold. */
  async function trim(conn: Connection): Promise<void> {
    for (const [key, sub] of conn.subs) {
      if (conn.principal && (await deps.authorize(conn.principal, sub.topic))) continue;
      sub.off();
      conn.subs.delete(key);
      send(conn, { type: 'unsubscribed', topic: sub.topic, reason: 'forbidden', message: `${FORBIDDEN} Your access changed.` });
    }
  }

  function serve(ws: WebSocket, token: string | null, auth: Extract<AuthResult, { ok: true }> | null): void {
    const conn: Connection = { ws, token: null, principal: null, subs: new Map(), timer: undefined, queue: Promise.resolve() };
    connections.add(conn);
    if (token && auth) adopt(conn, token, auth);
    else conn.timer = setTimeout(() => shut(conn, 'auth_timeout', `No access token within ${authTimeoutMs / 1000} s; ${HOW_TO_AUTH}.`), authTimeoutMs);

    ws.on('message', (raw) => {
      let parsed: z.infer<typeof messageSchema>;
      try {
        parsed = messageSchema.parse(JSON.parse(String(raw)));
      } catch {
        send(conn, { type: 'error', message: 'Send {"type":"auth","accessToken":"…"}, {"type":"subscribe","runId":"…"} or {"type":"subscribe","chainId":"…"} (optionally with "afterId").' });
        return;
      }
      if (parsed.type === 'auth') {
        const fresh = parsed.accessToken;
        enqueue(conn, async () => {
          const result = await deps.authenticate(fresh);
          if (!result.ok) return shut(conn, result.code, result.message);
          adopt(conn, fresh, result);
          send(conn, { type: 'authenticated', userId: result.principal.id, expiresAt: result.expiresAt?.toISOString() ?? null });
          await trim(conn);
        });
        return;
      }
      const topic: Topic | undefined = parsed.runId ? { runId: parsed.runId } : parsed.chainId ? { chainId: parsed.chainId } : undefined;
      if (!topic) {
        send(conn, { type: 'error', message: 'Name a runId or a chainId.' });
        return;
      }
      const key = JSON.stringify(topic);
      if (parsed.type === 'unsubscribe') {
        conn.subs.get(key)?.off();
        conn.subs.delete(key);
        return;
      }
      const afterId = parsed.afterId;
      enqueue(conn, async () => {
        if (!conn.token) {
          send(conn, { type: 'error', code: 'unauthenticated', topic, message: `Authenticate before subscribing: ${HOW_TO_AUTH}.` });
          return;
        }
        if (!(await refresh(conn)) || !conn.principal) return;
        if (!(await deps.authorize(conn.principal, topic))) {
          send(conn, { type: 'error', topic, message: FORBIDDEN });
          return;
        }
        conn.subs.get(key)?.off();
        const off = await deps.hub.subscribe(
          topic,
          afterId,
          (events) => {
            const only = conn.principal?.[VISITOR_EVENTS];
            const shown = Array.isArray(only) ? events.filter((event) => only.includes(event.type)) : events;
            if (shown.length > 0) send(conn, { type: 'events', topic, events: shown });
          },
          (partial) => send(conn, { type: 'reply.partial', topic, ...partial }),
        );
        if (ws.readyState !== ws.OPEN) return off();
        conn.subs.set(key, { topic, off });
        send(conn, { type: 'subscribed', topic, afterId });
      });
    });
    ws.on('close', () => {
      connections.delete(conn);
      dropAll(conn);
    });
  }

  return {
    async recheck(userIds) {
      const wanted = userIds ? new Set(userIds) : null;
      const done: Promise<void>[] = [];
      for (const conn of connections) {
        if (!conn.principal || (wanted && !wanted.has(conn.principal.id))) continue;
        enqueue(conn, async () => {
          if (await refresh(conn)) await trim(conn);
        });
        done.push(conn.queue);
      }
      await Promise.all(done);
    },
    async close() {
      server.off('upgrade', onUpgrade);
      for (const conn of connections) dropAll(conn);
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
