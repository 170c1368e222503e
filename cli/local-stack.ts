import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { MikroORM } from '@mikro-orm/postgresql';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../db/embedded-postgres.ts';
import { createOrm, migrate } from '../db/orm.ts';
import { onFreePort } from '../lib/processes.ts';
import { startDevServer, type DevServer } from '../temporal/dev-server.ts';

/** A throwaway stack in a temp dir: migrated PostgreSQL, in-memory Temporal dev server, client. */
export interface LocalStack {
  dir: string;
  pg: EmbeddedPostgres;
  server: DevServer;
  orm: MikroORM;
  client: Client;
  /** Closes the client and ORM, stops both servers, removes the dir. */
  close(): Promise<void>;
}

/** Starts a {@link LocalStack} on free loopback ports (the bench and the history recorder use it). */
export async function startLocalStack(prefix: string): Promise<LocalStack> {
  const dir = mkdtempSync(join(tmpdir(), `chainflow-${prefix}-`));
  chmodSync(dir, 0o755); // the `postgres` user must reach its cluster below
  // A port picked free can be taken before the server binds it on a busy machine: try another.
  const pg = await onFreePort((port) => startEmbeddedPostgres({ dir: join(dir, 'pg'), port }));
  const server = await onFreePort((port) => startDevServer({ dir: join(dir, 'temporal'), namespace: 'chainflow', port, uiPort: false, persist: false }));
  const orm = await createOrm({ url: pg.url, poolMax: 4 });
  await migrate(orm);
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, namespace: 'chainflow' });
  return {
    dir,
    pg,
    server,
    orm,
    client,
    close: async () => {
      await connection.close();
      await orm.close();
      await server.stop();
      await pg.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
