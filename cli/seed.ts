import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MikroORM } from '@mikro-orm/postgresql';
import { ChainSchema } from '../db/entities.ts';
import { UserSchema } from '../db/accounts.ts';
import { importChain, parseChainFile } from '../api/services/chain-service.ts';
import { ROOT } from '../lib/paths.ts';

/** Example chains imported into an empty installation (the demo answers out of the box). */
export const SEEDED_EXAMPLES = ['greeting.yaml'];

/**
 * Imports the examples when the installation has no chains yet. They belong to the first
 * admin (DESIGN.md); before anyone registered they have no owner, and the first account
 * to register (the admin) takes them over.
 */
export async function seedExamples(orm: MikroORM): Promise<string[]> {
  const em = orm.em.fork();
  if ((await em.count(ChainSchema, {})) > 0) return [];
  const firstAdmin = await em.findOne(UserSchema, { role: 'admin' }, { orderBy: { createdAt: 'asc' }, fields: ['id'] });
  const imported: string[] = [];
  for (const file of SEEDED_EXAMPLES) {
    const graph = parseChainFile(readFileSync(join(ROOT, 'examples', file), 'utf8'));
    const { chain } = await importChain(em, graph, { note: `seeded from examples/${file}`, ownerId: firstAdmin?.id ?? null });
    imported.push(chain.slug);
  }
  return imported;
}
