import postgres from 'postgres';
import type { MikroORM } from '@mikro-orm/postgresql';
import { RUN_EVENTS_CHANNEL } from '../../db/notify.ts';
import type { Logger } from '../../lib/logger.ts';

/** One run event as live subscribers get it. */
export interface LiveEvent {
  id: number;
  runId: string;
  chainId: string;
  type: string;
  nodeId: string | null;
  payload: unknown;
  at: string;
}

export type Topic = { runId: string } | { chainId: string };

interface Subscription {
  topic: Topic;
  /** Highest event id already delivered to this subscriber. */
  lastId: number;
  send(events: LiveEvent[]): void;
}

export interface EventsHub {
  /**
   * Delivers events of a run or a chain: first those after `afterId` (resume after a
   * reconnect), then new ones as workers flush them. Returns an unsubscribe function.
   */
  subscribe(topic: Topic, afterId: number, send: (events: LiveEvent[]) => void): Promise<() => void>;
  close(): Promise<void>;
}

const BATCH = 500;

/**
 * Live run events through PostgreSQL LISTEN/NOTIFY (the `postgres` client): a worker's
 * flush notifies `chainflow_run_events`; every API replica's hub reads the new rows of
 * the runs and chains its subscribers watch. Works across processes and machines.
 */
export async function createEventsHub(deps: { databaseUrl: string; orm: MikroORM; logger: Logger }): Promise<EventsHub> {
  const sql = postgres(deps.databaseUrl, { max: 1, onnotice: () => {} });
  const subs = new Set<Subscription>();

  async function fetchAfter(topic: Topic, afterId: number): Promise<LiveEvent[]> {
    const where = 'runId' in topic ? 'e.run_id = ?' : 'r.chain_id = ?';
    const rows = await deps.orm.em.getConnection().execute<
      { id: string; run_id: string; chain_id: string; type: string; node_id: string | null; payload: unknown; at: Date }[]
    >(
      `select e.id, e.run_id, r.chain_id, e.type, e.node_id, e.payload, e.at
         from run_event e join run r on r.id = e.run_id
        where ${where} and e.id > ? order by e.id limit ${BATCH}`,
      ['runId' in topic ? topic.runId : topic.chainId, afterId],
    );
    return rows.map((r) => ({ id: Number(r.id), runId: r.run_id, chainId: r.chain_id, type: r.type, nodeId: r.node_id, payload: r.payload, at: new Date(r.at).toISOString() }));
  }

  async function pump(sub: Subscription): Promise<void> {
    for (;;) {
      const events = await fetchAfter(sub.topic, sub.lastId);
      if (events.length === 0) return;
      sub.lastId = events[events.length - 1]?.id ?? sub.lastId;
      sub.send(events);
      if (events.length < BATCH) return;
    }
  }

  // Pumps of one subscriber never overlap: a notification during a pump queues one more.
  const running = new Map<Subscription, Promise<void>>();
  const again = new Set<Subscription>();
  function schedule(sub: Subscription): void {
    if (running.has(sub)) {
      again.add(sub);
      return;
    }
    const p = pump(sub)
      .catch((err: unknown) => deps.logger.warn({ err }, 'live events: read failed'))
      .finally(() => {
        running.delete(sub);
        if (again.delete(sub) && subs.has(sub)) schedule(sub);
      });
    running.set(sub, p);
  }

  await sql.listen(RUN_EVENTS_CHANNEL, (payload) => {
    let note: { runId?: string; chainId?: string };
    try {
      note = JSON.parse(payload) as typeof note;
    } catch {
      return;
    }
    for (const sub of subs) {
      const t = sub.topic;
      if (('runId' in t && t.runId === note.runId) || ('chainId' in t && t.chainId === note.chainId)) schedule(sub);
    }
  });

  return {
    async subscribe(topic, afterId, send) {
      const sub: Subscription = { topic, lastId: afterId, send };
      subs.add(sub);
      schedule(sub);
      return () => {
        subs.delete(sub);
      };
    },
    async close() {
      subs.clear();
      await Promise.allSettled(running.values());
      await sql.end({ timeout: 5 });
    },
  };
}
