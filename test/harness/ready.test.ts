import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import type { Client } from '@temporalio/client';
import type { MikroORM } from '@mikro-orm/postgresql';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../db/embedded-postgres.ts';
import { createOrm } from '../../db/orm.ts';
import { createApp } from '../../api/app.ts';
import { createLogger } from '../../lib/logger.ts';
import { freePort } from '../../lib/processes.ts';
import { testClient, testStack } from '../support/stack.ts';

// This file runs its own PostgreSQL so it can stop and restart it.
let pg: EmbeddedPostgres;
let pgDir: string;
let pgPort: number;
let orm: MikroORM;
let client: Client;

beforeAll(async () => {
  pgDir = join(testStack().tmpDir, `ready-${process.pid}`);
  pgPort = await freePort();
  pg = await startEmbeddedPostgres({ dir: pgDir, port: pgPort });
  orm = await createOrm({ url: pg.url, poolMax: 2 });
  client = await testClient();
});

afterAll(async () => {
  await orm?.close();
  await client?.connection.close();
  await pg?.stop();
});

describe('GET /ready', () => {
  it('answers 200 when PostgreSQL and Temporal both answer, 503 naming PostgreSQL while it is down, 200 again after', async () => {
    const app = createApp({ orm, temporal: client, logger: createLogger('silent', 'test'), taskQueue: 'unused' });

    const up = await request(app).get('/ready');
    expect(up.status).toBe(200);
    expect(up.body).toMatchObject({ status: 'ready', checks: { postgres: { ok: true }, temporal: { ok: true } } });

    await pg.stop();
    const down = await request(app).get('/ready');
    expect(down.status).toBe(503);
    expect(down.body.status).toBe('unavailable');
    expect(down.body.message).toBe('Not ready: postgres unavailable.');
    expect(down.body.checks.postgres.ok).toBe(false);
    expect(down.body.checks.temporal.ok).toBe(true);

    pg = await startEmbeddedPostgres({ dir: pgDir, port: pgPort });
    const back = await request(app).get('/ready');
    expect(back.status).toBe(200);
    expect(back.body.checks.postgres.ok).toBe(true);
  });

  it('answers 503 naming Temporal when the namespace cannot be described', async () => {
    const app = createApp({ orm, temporal: client, logger: createLogger('silent', 'test'), taskQueue: 'unused' });
    const { Client } = await import('@temporalio/client');
    const wrongNamespace = new Client({ connection: client.connection, namespace: 'no-such-namespace' });
    const res = await request(createApp({ orm, temporal: wrongNamespace, logger: createLogger('silent', 'test'), taskQueue: 'unused' })).get('/ready');
    expect(res.status).toBe(503);
    expect(res.body.message).toBe('Not ready: temporal unavailable.');
    expect(res.body.checks.temporal.error).toMatch(/no-such-namespace|not found/i);
    expect((await request(app).get('/health')).status).toBe(200);
  });
});
