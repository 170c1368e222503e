import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { z } from 'zod';
import type { Logger } from '../../lib/logger.ts';
import type { EventsHub, Topic } from './events-hub.ts';

/** Who is connected, as the authenticator says; opaque to this module. */
export type Principal = { id: string } & Record<string, unknown>;

export interface LiveDeps {
  hub: EventsHub;
  logger: Logger;
  /** Verifies an access token (the same JWT as the REST API); null when invalid. */
  authenticate(token: string): Promise<Principal | null>;
  /** Whether the principal may watch a run or a chain. */
  authorize(principal: Principal, topic: Topic): Promise<boolean>;
  /** Path of the endpoint. */
  path?: string;
}

const subscribeSchema = z.strictObject({
  type: z.literal('subscribe'),
  runId: z.string().min(1).max(300).optional(),
  chainId: z.uuid().optional(),
  /** Resume after this event id (the last one received before a reconnect). */
  afterId: z.number().int().min(0).default(0),
});
const unsubscribeSchema = z.strictObject({ type: z.literal('unsubscribe'), runId: z.string().optional(), chainId: z.string().optional() });
const messageSchema = z.union([subscribeSchema, unsubscribeSchema]);

/**
 * WebSocket `/api/v1/ws?token=<access token>`: subscribe to a run or a chain and receive
 * its run events as workers flush them, from any API replica (see events-hub.ts).
 *
 * Client → `{"type":"subscribe","runId":"web:…","afterId":0}` (or `chainId`),
 * `{"type":"unsubscribe",…}`. Server → `{"type":"subscribed",topic}`,
 * `{"type":"events","topic",events:[{id,runId,type,nodeId,payload,at}]}`,
 * `{"type":"error","message"}`. Reconnect with `afterId` = the last id received.
 */
export function attachLiveEvents(server: Server, deps: LiveDeps): { close(): Promise<void> } {
  const path = deps.path ?? '/api/v1/ws';
  const wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 });

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== path) return;
    const token = url.searchParams.get('token') ?? req.headers.authorization?.replace(/^Bearer\s+/i, '') ?? '';
    deps
      .authenticate(token)
      .then((principal) => {
        if (!principal) {
          socket.end('HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\n\r\n{"error":"unauthorized","message":"Pass a valid access token as ?token= or Authorization: Bearer."}');
          return;
        }
        wss.handleUpgrade(req, socket, head, (ws) => serve(ws, principal));
      })
      .catch(() => socket.destroy());
  };
  server.on('upgrade', onUpgrade);

  function serve(ws: WebSocket, principal: Principal): void {
    const unsubscribers = new Map<string, () => void>();
    const send = (data: unknown) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(data));
    };
    ws.on('message', (raw) => {
      let parsed: z.infer<typeof messageSchema>;
      try {
        parsed = messageSchema.parse(JSON.parse(String(raw)));
      } catch {
        send({ type: 'error', message: 'Send {"type":"subscribe","runId":"…"} or {"type":"subscribe","chainId":"…"}, optionally with "afterId".' });
        return;
      }
      const topic: Topic | undefined = parsed.runId ? { runId: parsed.runId } : parsed.chainId ? { chainId: parsed.chainId } : undefined;
      if (!topic) {
        send({ type: 'error', message: 'Name a runId or a chainId.' });
        return;
      }
      const key = JSON.stringify(topic);
      if (parsed.type === 'unsubscribe') {
        unsubscribers.get(key)?.();
        unsubscribers.delete(key);
        return;
      }
      const afterId = parsed.afterId;
      void (async () => {
        if (!(await deps.authorize(principal, topic))) {
          send({ type: 'error', topic, message: 'You may not watch this run or chain.' });
          return;
        }
        unsubscribers.get(key)?.();
        const off = await deps.hub.subscribe(topic, afterId, (events) => send({ type: 'events', topic, events }));
        unsubscribers.set(key, off);
        send({ type: 'subscribed', topic, afterId });
      })().catch((err: unknown) => {
        deps.logger.warn({ err }, 'live events: subscribe failed');
        send({ type: 'error', message: 'Subscribing failed; try again.' });
      });
    });
    ws.on('close', () => {
      for (const off of unsubscribers.values()) off();
      unsubscribers.clear();
    });
  }

  return {
    async close() {
      server.off('upgrade', onUpgrade);
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
