import type { Server } from 'node:http';
import postgres from 'postgres';
import { decodeJwt } from 'jose';
import type { MikroORM } from '@mikro-orm/postgresql';
import { ChainSchema, RunSchema } from '../../db/entities.ts';
import { WebVisitorSchema } from '../../db/visitors.ts';
import { tokenHash } from '../auth/tokens.ts';
import { ACCESS_CHANNEL } from '../../db/notify.ts';
import type { Logger } from '../../lib/logger.ts';
import { authenticate, type Principal as AccountPrincipal } from '../auth/principal.ts';
import { canRead } from '../auth/personal-tokens.ts';
import { HttpError } from '../errors.ts';
import { can } from '../policy.ts';
import { createEventsHub, type Topic } from './events-hub.ts';
import { attachLiveEvents, VISITOR_EVENTS, type AuthResult } from './ws.ts';

const WEB_RUN = /^web:([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}):/;

export interface LiveOptions {
  orm: MikroORM;
  /** The same database the workers flush to (LISTEN needs its own connection). */
  databaseUrl: string;
  jwtSecret: string;
  logger: Logger;
}

/**
 * Live events for an API process: the events hub (LISTEN) and the WebSocket endpoint
 * `/api/v1/ws`, with the REST API's access tokens and the chain view permission. The
 * principal is read from the database on every subscribe, and again when any replica
 * NOTIFYs `chainflow_access` for the user (db/notify.ts › notifyAccessChanged): a
 * revoked grant, a changed role, a disabled account or "sign out everywhere" ends the
 * affected subscriptions or sockets on every replica at once.
 */
export async function startLiveEvents(server: Server, opts: LiveOptions): Promise<{ close(): Promise<void> }> {
  const hub = await createEventsHub({ databaseUrl: opts.databaseUrl, orm: opts.orm, logger: opts.logger });
  const principals = new WeakMap<object, AccountPrincipal>();
  /** Web-chat visitors by their socket handle: they may watch their own session only. */
  const visitors = new WeakMap<object, { chainId: string; runId: string }>();
  const ws = attachLiveEvents(server, {
    hub,
    logger: opts.logger,
    authenticate: async (token): Promise<AuthResult> => {
      if (token.startsWith('cfv_')) {
        // A web-chat visitor token (api/services/visitors.ts): its own session's replies only.
        const visitor = await opts.orm.em.fork().findOne(WebVisitorSchema, { tokenHash: tokenHash(token) });
        if (!visitor) return { ok: false, code: 'visitor_token_invalid', message: 'The visitor token is wrong: use the visitorToken from the answer to the visitor’s first message.' };
        const handle = { id: `visitor:${visitor.id}`, [VISITOR_EVENTS]: ['message.in', 'message.out'] };
        visitors.set(handle, { chainId: visitor.chainId, runId: `web:${visitor.chainId}:${visitor.visitorId}` });
        return { ok: true, principal: handle, expiresAt: null };
      }
      try {
        const principal = await authenticate(opts.orm.em.fork(), opts.jwtSecret, `Bearer ${token}`);
        const handle = { id: principal.user.id };
        principals.set(handle, principal);
        if (principal.token) return { ok: true, principal: handle, expiresAt: principal.token.expiresAt };
        const { exp } = decodeJwt(token);
        return { ok: true, principal: handle, expiresAt: typeof exp === 'number' ? new Date(exp * 1000) : null };
      } catch (err) {
        if (err instanceof HttpError) return { ok: false, code: err.code, message: err.message };
        throw err;
      }
    },
    authorize: async (handle, topic: Topic) => {
      const visitor = visitors.get(handle);
      if (visitor) {
        if (!('runId' in topic) || topic.runId !== visitor.runId) return false;
        // Only while the chain's web chat is public (its editors watch with their own token).
        const chain = await opts.orm.em.fork().findOne(ChainSchema, { id: visitor.chainId }, { fields: ['id', 'webChatEnabled'] });
        return chain?.webChatEnabled === true;
      }
      const principal = principals.get(handle);
      if (!principal || !canRead(principal)) return false;
      const em = opts.orm.em.fork();
      // A web session's id names its chain (`web:{chainId}:{visitorId}`), so the simulator
      // may watch it before its first flush (a streamed first answer shows as it is written).
      const chainId = 'chainId' in topic ? topic.chainId : ((await em.findOne(RunSchema, { id: topic.runId }, { fields: ['chainId'] }))?.chainId ?? WEB_RUN.exec(topic.runId)?.[1]);
      if (!chainId) return false;
      const chain = await em.findOne(ChainSchema, { id: chainId }, { fields: ['id', 'ownerId'] });
      return chain !== null && can(principal, 'chain:view', { type: 'chain', id: chain.id, ownerId: chain.ownerId ?? null });
    },
  });

  const sql = postgres(opts.databaseUrl, { max: 1, onnotice: () => {} });
  const recheck = (userIds?: string[]) =>
    ws.recheck(userIds).catch((err: unknown) => opts.logger.warn({ err }, 'live events: access re-check failed'));
  await sql.listen(
    ACCESS_CHANNEL,
    (payload) => {
      let note: { userId?: unknown };
      try {
        note = JSON.parse(payload) as typeof note;
      } catch {
        return;
      }
      if (typeof note.userId === 'string') void recheck([note.userId]);
    },
    // Listening again after a lost connection: changes meanwhile were not announced.
    () => void recheck(),
  );
  return {
    async close() {
      await ws.close();
      await sql.end({ timeout: 5 });
      await hub.close();
    },
  };
}
