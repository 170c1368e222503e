// PostgreSQL with pgvector for the tests and the bench: PGlite (PostgreSQL compiled to
// WebAssembly) with its `vector` extension, served over the PostgreSQL wire protocol by
// pglite-socket on a free loopback port, so our normal driver (pg through MikroORM) and
// our migrations run against it unchanged. In memory; gone on close().
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface PgliteServer {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  url: string;
  close(): Promise<void>;
}

export async function startPgliteServer(): Promise<PgliteServer> {
  const db = await PGlite.create({ extensions: { vector } });
  // PGlite is one session; the server multiplexes the pool's connections onto it.
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 16 });
  await server.start();
  return {
    url: `postgres://postgres@${server.getServerConn()}/postgres`,
    close: async () => {
      await server.stop();
      await db.close();
    },
  };
}
