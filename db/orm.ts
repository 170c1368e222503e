import { MikroORM } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { entities } from './entities.ts';
import { migrationsList } from './migrations/index.ts';

export interface OrmOptions {
  /** postgres://user:password@host:port/database */
  url: string;
  /** Log every SQL statement (debugging). */
  debug?: boolean;
  /** Connection pool size; small for tests. */
  poolMax?: number;
}

/** Creates the MikroORM instance for Chainflow's database (no connection is checked). */
export async function createOrm(options: OrmOptions): Promise<MikroORM> {
  return MikroORM.init({
    clientUrl: options.url,
    entities,
    extensions: [Migrator],
    debug: options.debug ?? false,
    pool: { min: 0, max: options.poolMax ?? 10 },
    migrations: {
      tableName: 'chainflow_migrations',
      migrationsList,
      silent: true,
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      emit: 'ts',
      path: 'db/migrations',
    },
    // Entities are defined with defineEntity: no reflection or decorators needed.
    discovery: { warnWhenNoEntities: true },
  });
}

/** Applies pending migrations; returns the names applied. */
export async function migrate(orm: MikroORM): Promise<string[]> {
  const applied = await orm.migrator.up();
  return applied.map((m) => m.name);
}
