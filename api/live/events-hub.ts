import { setTimeout as sleep } from 'node:timers/promises';
import postgres from 'postgres';
import type { MikroORM } from '@mikro-orm/postgresql';
import { REPLY_PARTIALS_CHANNEL, RUN_EVENTS_CHANNEL } from '../../db/notify.ts';
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

/**
 * The text so far of a reply a model is streaming (the agent node's answer on the web
 * channel, activities/agent-stream.ts). Partials are not events: they are not stored for
 * resume, a later one supersedes an earlier one (higher `seq`), and the reply itself
 * arrives as the `message.out` event.
 */
export interface LivePartial {
  runId: string;
  chainId: string;
  replyId: string;
  nodeId: string;
  text: string;
  seq: number;
}

export type Topic = { runId: string } | { chainId: string };

interface Subscription {
  topic: Topic;
  /** Every event of the topic with an id up to this one has been delivered (or was before `afterId`). */
  lastId: number;
  send(events: LiveEvent[]): void;
  partial?: (partial: LivePartial) => void;
  /** The newest partial sent, by run and reply id. */
  partials: Map<string, number>;
}

export interface EventsHub {
  /**
   * Delivers events of a run or a chain: first those after `afterId` (resume after a
   * reconnect), then new ones as workers flush them. Each subscriber gets every event
   * once, in id order, so the last id it received is a safe `afterId` to resume from.
   * Returns an unsubscribe function.
   */
  subscribe(topic: Topic, afterId: number, send: (events: LiveEvent[]) => void, partial?: (partial: LivePartial) => void): Promise<() => void>;
  close(): Promise<void>;
}

const BATCH = 500;
/** How often a horizon round looks again whether the writers it waits for have finished. */
const WRITER_POLL_MS = { first: 5, max: 200 };

/**
 * Live run events through PostgreSQL LISTEN/NOTIFY (the `postgres` client): a worker's
 * flush notifies `chainflow_run_events`; every API replica's hub reads the new rows of
 * the runs and chains its subscribers watch. Works across processes and machines.
 *
 * Event ids come from a sequence when a flush inserts them, and flushes of different
 * sessions commit in any order: id 11 may be visible while id 10 is still being written.
 * Reading `id > last delivered` would skip 10 for good. So the hub only delivers up to the
 * *settled horizon*: an id below which every event is committed or will never exist (see
 * {@link createEventsHub} › `settledHorizon`). Subscribers then get their events in id
 * order, exactly once, and a resume with the last id received misses nothing.
 */
export async function createEventsHub(deps: { databaseUrl: string; orm: MikroORM; logger: Logger }): Promise<EventsHub> {
  const sql = postgres(deps.databaseUrl, { max: 1, onnotice: () => {} });
  const subs = new Set<Subscription>();
  let closed = false;
  const execute = <T>(query: string, params: unknown[] = []) => deps.orm.em.getConnection().execute<T[]>(query, params);

  /** Transactions that hold a write lock on run_event right now (and may hold unseen ids). */
  async function writers(): Promise<Set<string>> {
    const rows = await execute<{ vxid: string }>(
      `select virtualtransaction as vxid from pg_locks
        where locktype = 'relation' and database = (select oid from pg_database where datname = current_database())
          and relation = 'run_event'::regclass and mode = 'RowExclusiveLock' and granted`,
    );
    return new Set(rows.map((r) => r.vxid));
  }

  /**
   * One round: the last id the sequence handed out (Q), then the transactions holding
   * run_event's write lock (W), then wait until each of W has ended. An insert takes the
   * lock before it draws its id and keeps it until commit or rollback, so every id ≤ Q
   * belongs to a transaction that had ended before the lock read or is in W. Once W is
   * gone, every event with an id ≤ Q is visible or never will be. A writer is waited for
   * only if it was writing when the round began; later ones do not delay it.
   */
  async function horizonRound(): Promise<number> {
    const [seq] = await execute<{ q: string | null }>(`select pg_sequence_last_value(pg_get_serial_sequence('run_event', 'id')::regclass) as q`);
    const q = Number(seq?.q ?? 0);
    let waiting = await writers();
    for (let pause = WRITER_POLL_MS.first; waiting.size > 0 && !closed; pause = Math.min(pause * 2, WRITER_POLL_MS.max)) {
      await sleep(pause);
      const now = await writers();
      waiting = new Set([...waiting].filter((vxid) => now.has(vxid)));
    }
    return q;
  }

  // Rounds run one after another; a caller joins the next round to *start*, so the ids it
  // was notified about (committed before the call) are covered by that round's Q.
  let queued: Promise<number> | null = null;
  let previous: Promise<unknown> = Promise.resolve();
  function settledHorizon(): Promise<number> {
    if (!queued) {
      const round = previous.then(() => {
        queued = null;
        return horizonRound();
      });
      queued = round;
      previous = round.catch(() => undefined);
    }
    return queued;
  }

  async function fetchRange(topic: Topic, afterId: number, upTo: number): Promise<LiveEvent[]> {
    const where = 'runId' in topic ? 'e.run_id = ?' : 'r.chain_id = ?';
    const rows = await execute<{ id: string; run_id: string; chain_id: string; type: string; node_id: string | null; payload: unknown; at: Date }>(
      `select e.id, e.run_id, r.chain_id, e.type, e.node_id, e.payload, e.at
         from run_event e join run r on r.id = e.run_id
        where ${where} and e.id > ? and e.id <= ? order by e.id limit ${BATCH}`,
      ['runId' in topic ? topic.runId : topic.chainId, afterId, upTo],
    );
    return rows.map((r) => ({ id: Number(r.id), runId: r.run_id, chainId: r.chain_id, type: r.type, nodeId: r.node_id, payload: r.payload, at: new Date(r.at).toISOString() }));
  }

  async function pump(sub: Subscription): Promise<void> {
    const horizon = await settledHorizon();
    while (sub.lastId < horizon && subs.has(sub)) {
      const events = await fetchRange(sub.topic, sub.lastId, horizon);
      sub.lastId = events.length === BATCH ? (events[events.length - 1]?.id ?? horizon) : horizon;
      if (events.length > 0 && subs.has(sub)) sub.send(events);
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
      .catch((err: unknown) => {
        if (closed) return;
        deps.logger.warn({ err }, 'live events: read failed');
        again.add(sub); // read again rather than wait for a notification that may not come
        return sleep(1000);
      })
      .finally(() => {
        running.delete(sub);
        if (again.delete(sub) && subs.has(sub)) schedule(sub);
      });
    running.set(sub, p);
  }

  await sql.listen(
    RUN_EVENTS_CHANNEL,
    (payload) => {
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
    },
    // After a reconnect of the LISTEN connection, notifications sent meanwhile are lost.
    () => subs.forEach(schedule),
  );

  const matches = (t: Topic, note: { runId?: string; chainId?: string }): boolean => ('runId' in t && t.runId === note.runId) || ('chainId' in t && t.chainId === note.chainId);

  // Streamed replies: the NOTIFY names the row; its newest text goes to the run's subscribers.
  async function pushPartial(note: { runId: string; chainId: string; replyId: string }): Promise<void> {
    const rows = await execute<{ node_id: string; text: string; seq: number }>(`select node_id, text, seq from reply_partial where run_id = ? and reply_id = ?`, [note.runId, note.replyId]);
    const row = rows[0];
    if (!row) return; // the call ended meanwhile: its reply comes as message.out
    const key = `${note.runId}\n${note.replyId}`;
    for (const sub of subs) {
      if (!sub.partial || !matches(sub.topic, note) || (sub.partials.get(key) ?? 0) >= row.seq) continue;
      sub.partials.set(key, row.seq);
      if (sub.partials.size > 100) sub.partials.delete(sub.partials.keys().next().value as string);
      sub.partial({ runId: note.runId, chainId: note.chainId, replyId: note.replyId, nodeId: row.node_id, text: row.text, seq: row.seq });
    }
  }
  await sql.listen(REPLY_PARTIALS_CHANNEL, (payload) => {
    let note: { runId?: unknown; chainId?: unknown; replyId?: unknown };
    try {
      note = JSON.parse(payload) as typeof note;
    } catch {
      return;
    }
    if (typeof note.runId !== 'string' || typeof note.chainId !== 'string' || typeof note.replyId !== 'string') return;
    const wanted = { runId: note.runId, chainId: note.chainId, replyId: note.replyId };
    if (![...subs].some((sub) => sub.partial && matches(sub.topic, wanted))) return;
    pushPartial(wanted).catch((err: unknown) => {
      if (!closed) deps.logger.warn({ err }, 'live events: reading a partial reply failed');
    });
  });

  return {
    async subscribe(topic, afterId, send, partial) {
      const sub: Subscription = { topic, lastId: afterId, send, partials: new Map(), ...(partial ? { partial } : {}) };
      subs.add(sub);
      schedule(sub);
      return () => {
        subs.delete(sub);
      };
    },
    async close() {
      closed = true;
      subs.clear();
      await Promise.allSettled(running.values());
      await sql.end({ timeout: 5 });
    },
  };
}
