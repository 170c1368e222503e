import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createEngineActivities, type FlushInput } from '../../activities/engine.ts';
import { createEventsHub, type EventsHub, type LiveEvent } from '../../api/live/events-hub.ts';
import { RUN_EVENTS_CHANNEL } from '../../db/notify.ts';
import { createLogger } from '../../lib/logger.ts';
import { createTestDatabase, eventually, type TestDatabase } from '../support/stack.ts';

// Issue 21: event ids are drawn from a sequence when a flush inserts them, and flushes of
// different sessions commit in any order. Here two transactions take ids in one order and
// commit in the other, again and again, while real flushes of other sessions of the same
// chain run alongside; a chain subscriber and a subscriber that reconnects with `afterId`
// must each see every event exactly once, in id order per run.
const WRITER = 'chainflow-ordering-test';
const ROUNDS = 25;
const chainId = randomUUID();
const versionId = randomUUID();
const logger = createLogger('silent', 'test');
let db: TestDatabase;
let hub: EventsHub;
let early: pg.Client;
let late: pg.Client;
let probe: pg.Client;

const runRow = (status: FlushInput['run']['status'] = 'waiting'): FlushInput['run'] => ({ chainId, versionId, versionNumber: 1, channel: 'web', botId: null, status, currentNode: 'q' });
const client = async () => {
  const c = new pg.Client({ connectionString: db.url, application_name: WRITER });
  await c.connect();
  return c;
};

beforeAll(async () => {
  db = await createTestDatabase();
  hub = await createEventsHub({ databaseUrl: db.url, orm: db.orm, logger });
  [early, late, probe] = [await client(), await client(), await client()];
  const engine = createEngineActivities({ orm: db.orm, logger });
  for (const runId of ['web:early', 'web:late']) await engine.flushRunEvents({ runId, executionId: 'e1', run: runRow(), events: [] });
});
afterAll(async () => {
  await Promise.allSettled([early?.end(), late?.end(), probe?.end()]);
  await hub?.close();
  await db?.drop();
});

/** Inserts one event the way flushRunEvents does, in the client's open transaction. */
async function insertEvent(c: pg.Client, runId: string, seq: number): Promise<number> {
  const res = await c.query<{ id: string }>(
    `insert into run_event (run_id, execution_id, seq, type, node_id, payload, at) values ($1, 'e1', $2, 'message.out', 'q', '{}'::jsonb, now()) returning id`,
    [runId, seq],
  );
  await c.query(`select pg_notify($1, json_build_object('runId', $2::text, 'chainId', $3::text)::text)`, [RUN_EVENTS_CHANNEL, runId, chainId]);
  return Number(res.rows[0]?.id);
}

/** Whether the hub has run a query that started after `since` (so it has read what committed before). */
async function hubReadSince(since: string): Promise<boolean> {
  const res = await probe.query(
    `select 1 from pg_stat_activity
      where datname = current_database() and application_name <> $1 and state = 'idle'
        and query not ilike 'listen%' and query_start > $2::timestamptz limit 1`,
    [WRITER, since],
  );
  return (res.rowCount ?? 0) > 0;
}

function recorder() {
  const events: LiveEvent[] = [];
  return { events, send: (batch: LiveEvent[]) => events.push(...batch) };
}

describe('live events under concurrent flushes (issue 21)', () => {
  it('gives a chain subscriber and a resuming subscriber every event once, even when ids commit out of order', async () => {
    const engine = createEngineActivities({ orm: db.orm, logger });
    const chain = recorder();
    const offChain = await hub.subscribe({ chainId }, 0, chain.send);
    const resumed = recorder();
    let offResumed = await hub.subscribe({ chainId }, 0, resumed.send);
    const expected: number[] = [];

    for (let round = 1; round <= ROUNDS; round++) {
      // `early` draws its id first and commits last.
      await early.query('begin');
      const first = await insertEvent(early, 'web:early', round);
      await late.query('begin');
      const second = await insertEvent(late, 'web:late', round);
      await late.query('commit');
      expect(second).toBeGreaterThan(first);
      const committed = (await probe.query<{ t: string }>('select clock_timestamp()::text as t')).rows[0]?.t ?? '';
      // The hub reacts to the later commit: it delivers it (reading id > last would then
      // skip `first` for good) or it holds it back until `first` is settled.
      await eventually(async () => (resumed.events.some((e) => e.id === second) || (await hubReadSince(committed)) ? true : undefined), 'the hub to read after the later commit');

      // The resuming subscriber disconnects now and comes back with the last id it got,
      // while the early transaction commits and other sessions of the chain flush.
      offResumed();
      const lastSeen = resumed.events.at(-1)?.id ?? 0;
      const flushes = [1, 2, 3].map((n) =>
        engine.flushRunEvents({
          runId: `web:other-${n}`,
          executionId: 'e1',
          run: runRow(),
          events: [1, 2].map((k) => ({ seq: round * 10 + k, type: 'message.out', nodeId: 'm', payload: { round, k }, at: Date.now() })),
        }),
      );
      const [resubscribed] = await Promise.all([hub.subscribe({ chainId }, lastSeen, resumed.send), early.query('commit'), ...flushes]);
      offResumed = resubscribed;

      const all = await probe.query<{ id: string }>('select e.id from run_event e join run r on r.id = e.run_id where r.chain_id = $1 order by e.id', [chainId]);
      expected.splice(0, expected.length, ...all.rows.map((r) => Number(r.id)));
      const complete = (events: LiveEvent[]) => events.length >= expected.length && expected.every((id) => events.some((e) => e.id === id));
      await eventually(async () => (complete(chain.events) && complete(resumed.events) ? true : undefined), `every event of round ${round} (ids ${first} and ${second} drawn in that order, committed in the other)`, 10_000);
    }
    offChain();
    offResumed();

    for (const events of [chain.events, resumed.events]) {
      const ids = events.map((e) => e.id);
      expect(ids).toEqual(expected);
      for (const runId of new Set(events.map((e) => e.runId))) {
        const ofRun = events.filter((e) => e.runId === runId).map((e) => e.id);
        expect(ofRun).toEqual([...ofRun].sort((a, b) => a - b));
      }
    }
  });
});
