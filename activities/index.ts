import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '../lib/logger.ts';
import { createEngineActivities } from './engine.ts';

/** What activities need from the outside world; tests pass real ones pointed at test servers. */
export interface ActivityDeps {
  orm: MikroORM;
  logger: Logger;
}

/**
 * All Chainflow activities, bound to their dependencies. Workflows import only the type
 * (`import type { Activities }`) and call them through proxyActivities.
 */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createEngineActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
