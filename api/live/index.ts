import type { Server } from 'node:http';
import type { MikroORM } from '@mikro-orm/postgresql';
import { ChainSchema, RunSchema } from '../../db/entities.ts';
import type { Logger } from '../../lib/logger.ts';
import { authenticate, type Principal as AccountPrincipal } from '../auth/principal.ts';
import { can } from '../policy.ts';
import { createEventsHub, type Topic } from './events-hub.ts';
import { attachLiveEvents } from './ws.ts';

export interface LiveOptions {
  orm: MikroORM;
  /** The same database the workers flush to (LISTEN needs its own connection). */
  databaseUrl: string;
  jwtSecret: string;
  logger: Logger;
}

/**
 * Live events for an API process: the events hub (LISTEN) and the WebSocket endpoint
 * `/api/v1/ws`, with the REST API's access tokens and the chain view permission.
 */
export async function startLiveEvents(server: Server, opts: LiveOptions): Promise<{ close(): Promise<void> }> {
  const hub = await createEventsHub({ databaseUrl: opts.databaseUrl, orm: opts.orm, logger: opts.logger });
  const principals = new WeakMap<object, AccountPrincipal>();
  const ws = attachLiveEvents(server, {
    hub,
    logger: opts.logger,
    authenticate: async (token) => {
      try {
        const principal = await authenticate(opts.orm.em.fork(), opts.jwtSecret, `Bearer ${token}`);
        const handle = { id: principal.user.id };
        principals.set(handle, principal);
        return handle;
      } catch {
        return null;
      }
    },
    authorize: async (handle, topic: Topic) => {
      const principal = principals.get(handle);
      if (!principal) return false;
      const em = opts.orm.em.fork();
      const chainId = 'chainId' in topic ? topic.chainId : (await em.findOne(RunSchema, { id: topic.runId }, { fields: ['chainId'] }))?.chainId;
      if (!chainId) return false;
      const chain = await em.findOne(ChainSchema, { id: chainId }, { fields: ['id', 'ownerId'] });
      return chain !== null && can(principal, 'chain:view', { type: 'chain', id: chain.id, ownerId: chain.ownerId ?? null });
    },
  });
  return {
    async close() {
      await ws.close();
      await hub.close();
    },
  };
}
