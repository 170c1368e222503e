import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MikroORM } from '@mikro-orm/postgresql';
import { ChainSchema } from '../db/entities.ts';
import { importChain, parseChainFile } from '../api/services/chain-service.ts';
import { ROOT } from './services.ts';

/** Example chains imported into an empty installation (the demo answers out of the box). */
export const SEEDED_EXAMPLES = ['greeting.yaml'];

/**
 * Imports the examples when the installation has no chains yet. They have no owner
 * until the first admin registers (DESIGN.md: they then belong to the first admin).
 */
export async function seedExamples(orm: MikroORM): Promise<string[]> {
  const em = orm.em.fork();
  if ((await em.count(ChainSchema, {})) > 0) return [];
  const imported: string[] = [];
  for (const file of SEEDED_EXAMPLES) {
    const graph = parseChainFile(readFileSync(join(ROOT, 'examples', file), 'utf8'));
    const { chain } = await importChain(em, graph, { note: `seeded from examples/${file}` });
    imported.push(chain.slug);
  }
  return imported;
}
