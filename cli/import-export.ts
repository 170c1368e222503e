import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Config } from '../config.ts';
import { createOrm } from '../db/orm.ts';
import { canQuery } from '../db/embedded-postgres.ts';
import { HttpError } from '../api/errors.ts';
import { importChain, parseChainFile } from '../api/services/chain-service.ts';

/**
 * DATABASE_URL, or the embedded server of a running `chainflow start` (its credentials
 * are in DATA_DIR/postgres), so `chainflow import` works next to `npm start`.
 */
export async function resolveDatabaseUrl(config: Config): Promise<string> {
  if (config.databaseUrl) return config.databaseUrl;
  const credsFile = join(config.dataDir, 'postgres', 'credentials.json');
  if (existsSync(credsFile)) {
    const creds = JSON.parse(readFileSync(credsFile, 'utf8')) as { user: string; password: string };
    const url = `postgres://${creds.user}:${encodeURIComponent(creds.password)}@127.0.0.1:${config.embeddedPostgresPort}/chainflow`;
    if (await canQuery(url)) return url;
  }
  throw new Error('No database: start Chainflow first (npm start) so its embedded PostgreSQL runs, or set DATABASE_URL.');
}

/** `chainflow import FILE [--rename]`: compiles the file and stores a published version. */
export async function importCommand(config: Config, args: string[]): Promise<void> {
  const file = args.find((a) => !a.startsWith('--'));
  if (!file) throw new Error('Usage: chainflow import <file.yaml|file.json> [--rename]');
  const path = resolve(file);
  if (!existsSync(path)) throw new Error(`No such file: ${path}`);
  const orm = await createOrm({ url: await resolveDatabaseUrl(config), poolMax: 2 });
  try {
    const graph = parseChainFile(readFileSync(path));
    const { chain, version } = await importChain(orm.em.fork(), graph, {
      onConflict: args.includes('--rename') ? 'rename' : 'error',
      note: `imported from ${file}`,
    });
    process.stdout.write(`imported "${chain.slug}" (chain ${chain.id}), published version ${version.number}\n`);
  } catch (err) {
    if (err instanceof HttpError) {
      const details = Array.isArray(err.details)
        ? (err.details as Array<{ nodeId?: string; field?: string; message: string; fix?: string }>)
            .map((d) => `  - ${[d.nodeId && `node ${d.nodeId}`, d.field].filter(Boolean).join(' › ')}${d.nodeId || d.field ? ': ' : ''}${d.message}${d.fix ? ` ${d.fix}` : ''}`)
            .join('\n')
        : '';
      throw new Error(`${err.message}${details ? `\n${details}` : ''}`, { cause: err });
    }
    throw err;
  } finally {
    await orm.close();
  }
}
