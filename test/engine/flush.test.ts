// The run-event flush writes the run's index row, the persisted-variable writes and the
// events in one statement (one round trip, one transaction): rows as written, a retried
// flush idempotent, the live-events NOTIFY sent only with events, and a value PostgreSQL
// refuses a non-retryable `persistence_failed` that leaves nothing half written.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { ApplicationFailure } from '@temporalio/common';
import { createEngineActivities, type FlushInput } from '../../activities/engine.ts';
import { RUN_EVENTS_CHANNEL } from '../../db/notify.ts';
import { createLogger } from '../../lib/logger.ts';
import { createTestDatabase, eventually, type TestDatabase } from '../support/stack.ts';

let db: TestDatabase;
let listener: pg.Client;
const notified: string[] = [];
const chainId = randomUUID();
const versionId = randomUUID();
const run = (status: FlushInput['run']['status'], currentNode: string | null): FlushInput['run'] => ({ chainId, versionId, versionNumber: 3, channel: 'web', botId: null, status, currentNode });
const engine = () => createEngineActivities({ orm: db.orm, logger: createLogger('silent', 'test') });

beforeAll(async () => {
  db = await createTestDatabase();
  listener = new pg.Client({ connectionString: db.url });
  await listener.connect();
  listener.on('notification', (n) => {
    if (n.channel === RUN_EVENTS_CHANNEL) notified.push(n.payload ?? '');
  });
  await listener.query(`listen ${RUN_EVENTS_CHANNEL}`);
});
afterAll(async () => {
  await listener?.end();
  await db?.drop();
});

const query = async <T extends pg.QueryResultRow>(sql: string, params: unknown[] = []) => {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end();
  }
};

describe('flushRunEvents', () => {
  it('writes the run row, the variables and the events in one flush, and a retry writes the same rows', async () => {
    const runId = `web:${chainId}:flush-1`;
    const at = Date.UTC(2026, 11, 2, 10, 0, 0, 123);
    const input: FlushInput = {
      runId,
      executionId: 'exec-1',
      run: run('waiting', 'ask_name'),
      events: [
        { seq: 0, type: 'session.start', payload: { chainId, nested: { a: [1, 'two', null] } }, at },
        { seq: 1, type: 'message.out', nodeId: 'ask_name', payload: { text: "It's \"quoted\" \\ and ünïcode 😀" }, at: at + 1 },
      ],
      variables: [
        { scope: 'user', ownerKey: 'web:v1', name: 'name', value: 'Bob' },
        { scope: 'user', ownerKey: 'web:v1', name: 'name', value: 'Ann' },
        { scope: 'chat', ownerKey: 'web:v1', name: 'prefs', value: { lang: 'ru', tags: ['a', 'b'] } },
        { scope: 'bot', ownerKey: `chain:${chainId}`, name: 'count', value: 7 },
      ],
    };
    await engine().flushRunEvents(input);
    await engine().flushRunEvents(input);

    const runs = await query<{ status: string; current_node: string; version_number: number; closed_at: Date | null }>('select status, current_node, version_number, closed_at from run where id = $1', [runId]);
    expect(runs).toEqual([{ status: 'waiting', current_node: 'ask_name', version_number: 3, closed_at: null }]);
    const events = await query<{ seq: number; type: string; node_id: string | null; payload: unknown; at: Date }>('select seq, type, node_id, payload, at from run_event where run_id = $1 order by seq', [runId]);
    expect(events.map((e) => ({ ...e, at: e.at.getTime() }))).toEqual(input.events.map((e) => ({ seq: e.seq, type: e.type, node_id: e.nodeId ?? null, payload: e.payload, at: e.at })));
    const variables = await query<{ scope: string; name: string; value: unknown }>("select scope, name, value from variable where owner_key in ('web:v1', $1) order by scope, name", [`chain:${chainId}`]);
    expect(variables).toEqual([
      { scope: 'bot', name: 'count', value: 7 },
      { scope: 'chat', name: 'prefs', value: { lang: 'ru', tags: ['a', 'b'] } },
      { scope: 'user', name: 'name', value: 'Ann' },
    ]);
    expect(await engine().loadVariables({ user: 'web:v1', chat: 'web:v1', bot: `chain:${chainId}` })).toEqual({ user: { name: 'Ann' }, chat: { prefs: { lang: 'ru', tags: ['a', 'b'] } }, bot: { count: 7 } });
    await eventually(() => (notified.filter((p) => p.includes(runId)).length === 2 ? true : undefined), 'a NOTIFY per flush with events');
    expect(JSON.parse(notified.find((p) => p.includes(runId)) ?? '{}')).toEqual({ runId, chainId });
  });

  it('deletes a variable written as null, closes the run, and sends no NOTIFY without events', async () => {
    const runId = `web:${chainId}:flush-2`;
    await engine().flushRunEvents({ runId, executionId: 'exec-1', run: run('waiting', 'q'), events: [], variables: [{ scope: 'user', ownerKey: 'web:v2', name: 'city', value: 'Oslo' }] });
    expect(await query('select value from variable where owner_key = $1', ['web:v2'])).toEqual([{ value: 'Oslo' }]);
    await engine().flushRunEvents({ runId, executionId: 'exec-1', run: run('completed', null), events: [], variables: [{ scope: 'user', ownerKey: 'web:v2', name: 'city', value: null }] });
    expect(await query('select value from variable where owner_key = $1', ['web:v2'])).toEqual([]);
    const [row] = await query<{ status: string; closed_at: Date | null }>('select status, closed_at from run where id = $1', [runId]);
    expect(row?.status).toBe('completed');
    expect(row?.closed_at).toBeInstanceOf(Date);
    // A flush with an event afterwards notifies: nothing was notified for this run before.
    await engine().flushRunEvents({ runId, executionId: 'exec-1', run: run('completed', null), events: [{ seq: 0, type: 'session.end', payload: {}, at: Date.now() }] });
    await eventually(() => (notified.some((p) => p.includes(runId)) ? true : undefined), 'the NOTIFY of the flush with an event');
    expect(notified.filter((p) => p.includes(runId))).toHaveLength(1);
  });

  it('fails a flush PostgreSQL refuses as persistence_failed, writing none of it', async () => {
    const runId = `web:${chainId}:flush-3`;
    const failure = await engine()
      .flushRunEvents({
        runId,
        executionId: 'exec-1',
        run: run('waiting', 'q'),
        events: [{ seq: 0, type: 'message.in', nodeId: 'n'.repeat(300), payload: {}, at: Date.now() }],
        variables: [{ scope: 'user', ownerKey: 'web:v3', name: 'x', value: 1 }],
      })
      .then(() => undefined, (err: unknown) => err);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect((failure as ApplicationFailure).type).toBe('persistence_failed');
    expect((failure as ApplicationFailure).nonRetryable).toBe(true);
    expect(await query('select 1 from run where id = $1', [runId])).toEqual([]);
    expect(await query('select 1 from variable where owner_key = $1', ['web:v3'])).toEqual([]);
  });
});
