// A logical backup of Chainflow's PostgreSQL database that any PostgreSQL (and any
// pg_dump-less host) can take and give back. Each table is streamed as JSON lines made by
// PostgreSQL itself (`row_to_json`) and read back with `json_populate_recordset`, so every
// type round-trips exactly as the server renders it (timestamps, jsonb, bigints, enums).
// Secrets stay ciphertext: restoring needs the same CHAINFLOW_SECRET_KEY (docs/deploy.md).
// `chainflow backup` / `chainflow restore` (cli/backup.ts) are the commands around it.

import { once } from 'node:events';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { stringify as toYaml } from 'yaml';
import { createOrm, migrate } from './orm.ts';
import { migrationsList } from './migrations/index.ts';

/** MikroORM's table of applied migrations (db/orm.ts). */
const MIGRATIONS_TABLE = 'chainflow_migrations';
const FORMAT = 'chainflow-backup';
const FORMAT_VERSION = 1;
/** Rows per cursor fetch and per INSERT batch. */
const BATCH_ROWS = 1000;
/** …and at most this much JSON text per INSERT. */
const BATCH_CHARS = 8 * 1024 * 1024;

export interface BackupTable {
  name: string;
  /** Relative to the backup directory. */
  file: string;
  rows: number;
  columns: string[];
}

/** `manifest.json`: written last, so a backup without it is incomplete. */
export interface BackupManifest {
  format: typeof FORMAT;
  formatVersion: number;
  chainflowVersion: string;
  createdAt: string;
  /** Names of the migrations applied to the database, in order. */
  migrations: string[];
  tables: BackupTable[];
  /** Human-readable exports of every chain's draft graph (not used by restore). */
  chains: { slug: string; file: string }[];
  /** Ids of the secret keys the encrypted values in this backup need. */
  encryptedWith: string[];
}

/** A backup or restore that cannot go ahead; the message says why and what to do. */
export class BackupError extends Error {
  override name = 'BackupError';
}

const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;

interface TableInfo {
  name: string;
  columns: string[];
  /** Columns PostgreSQL computes itself (GENERATED ALWAYS AS … STORED): never inserted. */
  generated: string[];
  hasIdentity: boolean;
  primaryKey: string[];
}

/** Every base table of the current schema with its columns and primary key. */
async function describeTables(client: pg.ClientBase): Promise<TableInfo[]> {
  const { rows } = await client.query<{ table_name: string; column_name: string; is_generated: string; is_identity: string }>(
    `select c.table_name, c.column_name, c.is_generated, c.is_identity
       from information_schema.columns c
       join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name
      where c.table_schema = current_schema() and t.table_type = 'BASE TABLE'
      order by c.table_name, c.ordinal_position`,
  );
  const keys = await client.query<{ table_name: string; column_name: string }>(
    `select tc.relname as table_name, a.attname as column_name
       from pg_index i
       join pg_class tc on tc.oid = i.indrelid
       join pg_namespace n on n.oid = tc.relnamespace and n.nspname = current_schema()
       join lateral unnest(i.indkey) with ordinality as k(attnum, pos) on true
       join pg_attribute a on a.attrelid = tc.oid and a.attnum = k.attnum
      where i.indisprimary
      order by tc.relname, k.pos`,
  );
  const tables = new Map<string, TableInfo>();
  for (const row of rows) {
    const table = tables.get(row.table_name) ?? { name: row.table_name, columns: [], generated: [], hasIdentity: false, primaryKey: [] };
    table.columns.push(row.column_name);
    if (row.is_generated === 'ALWAYS') table.generated.push(row.column_name);
    if (row.is_identity === 'YES') table.hasIdentity = true;
    tables.set(row.table_name, table);
  }
  for (const key of keys.rows) tables.get(key.table_name)?.primaryKey.push(key.column_name);
  return [...tables.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** Tables ordered so that a table comes after the tables its foreign keys point to. */
async function insertOrder(client: pg.ClientBase, names: string[]): Promise<string[]> {
  const { rows } = await client.query<{ child: string; parent: string }>(
    `select c.conrelid::regclass::text as child, c.confrelid::regclass::text as parent
       from pg_constraint c
       join pg_namespace n on n.oid = c.connamespace and n.nspname = current_schema()
      where c.contype = 'f'`,
  );
  const unquote = (name: string) => name.replace(/^"(.*)"$/, '$1').replaceAll('""', '"');
  const parents = new Map<string, Set<string>>(names.map((n) => [n, new Set<string>()]));
  for (const { child, parent } of rows) {
    if (unquote(child) !== unquote(parent)) parents.get(unquote(child))?.add(unquote(parent));
  }
  const ordered: string[] = [];
  const visit = (name: string, path: Set<string>) => {
    if (ordered.includes(name) || path.has(name)) return;
    path.add(name);
    for (const parent of parents.get(name) ?? []) if (parents.has(parent)) visit(parent, path);
    path.delete(name);
    ordered.push(name);
  };
  for (const name of names) visit(name, new Set());
  return ordered;
}

function safeFileName(slug: string): string {
  return slug.replace(/[^A-Za-z0-9._-]/g, '_') || 'chain';
}

async function writeLine(stream: NodeJS.WritableStream, line: string): Promise<void> {
  if (!stream.write(`${line}\n`)) await once(stream, 'drain');
}

async function closeStream(stream: ReturnType<typeof createWriteStream>): Promise<void> {
  await new Promise<void>((resolveEnd, reject) => {
    stream.once('error', reject);
    stream.end(() => resolveEnd());
  });
}

/** Streams one table into `file` as JSON lines (one row each) through a server-side cursor. */
async function dumpTable(client: pg.ClientBase, table: TableInfo, file: string): Promise<number> {
  const order = table.primaryKey.length ? table.primaryKey : table.columns;
  const out = createWriteStream(file, { mode: 0o600 });
  let rows = 0;
  try {
    await client.query(`declare backup_cursor no scroll cursor for
      select row_to_json(t)::text as j from ${ident(table.name)} t order by ${order.map((c) => `t.${ident(c)}`).join(', ')}`);
    for (;;) {
      const batch = await client.query<{ j: string }>(`fetch ${BATCH_ROWS} from backup_cursor`);
      for (const row of batch.rows) await writeLine(out, row.j);
      rows += batch.rows.length;
      if (batch.rows.length < BATCH_ROWS) break;
    }
    await client.query('close backup_cursor');
  } finally {
    await closeStream(out);
  }
  return rows;
}

export interface BackupResult {
  dir: string;
  manifest: BackupManifest;
}

/** What a backup records besides the rows. */
export interface BackupOptions {
  /** The Chainflow version making it (manifest `chainflowVersion`). */
  chainflowVersion: string;
  /** Columns holding values encrypted with the secret box, and how to read a value's key id. */
  encrypted: { columns: readonly { table: string; column: string }[]; keyIdOf(stored: string): string | undefined };
}

/**
 * Writes a logical backup of the database at `url` into `dir` (created; must be empty):
 * `tables/<table>.jsonl` for every table, `chains/<slug>.yaml` for people, and
 * `manifest.json`. Reads one consistent snapshot (a repeatable-read transaction).
 */
export async function backupDatabase(url: string, dir: string, opts: BackupOptions): Promise<BackupResult> {
  const target = resolve(dir);
  if (existsSync(target) && readdirSync(target).length > 0) {
    throw new BackupError(`The backup directory ${target} is not empty. Name a new directory (or remove the old backup first).`);
  }
  const created = !existsSync(target);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    mkdirSync(join(target, 'tables'), { recursive: true, mode: 0o700 });
    mkdirSync(join(target, 'chains'), { recursive: true, mode: 0o700 });
    await client.query('begin isolation level repeatable read read only');
    const tables = await describeTables(client);
    if (!tables.some((t) => t.name === MIGRATIONS_TABLE)) {
      throw new BackupError(`The database has no ${MIGRATIONS_TABLE} table: it is not a Chainflow database, or it was never migrated (run \`chainflow migrate\`).`);
    }
    const migrations = (await client.query<{ name: string }>(`select name from ${ident(MIGRATIONS_TABLE)} order by id`)).rows.map((r) => r.name);

    const written: BackupTable[] = [];
    for (const table of tables) {
      const file = `tables/${safeFileName(table.name)}.jsonl`;
      const rows = await dumpTable(client, table, join(target, file));
      written.push({ name: table.name, file, rows, columns: table.columns.filter((c) => !table.generated.includes(c)) });
    }

    const chains: BackupManifest['chains'] = [];
    if (tables.some((t) => t.name === 'chain')) {
      const { rows } = await client.query<{ id: string; slug: string; name: string; draft_graph: Record<string, unknown> }>('select id, slug, name, draft_graph from chain order by slug');
      for (const chain of rows) {
        const file = `chains/${safeFileName(chain.slug)}.yaml`;
        const header = `# Draft of chain "${chain.name}" (${chain.id}), from a Chainflow backup.\n# Import it elsewhere with: chainflow import ${file.slice('chains/'.length)}\n`;
        writeFileSync(join(target, file), header + toYaml(chain.draft_graph, { lineWidth: 0 }), { mode: 0o600 });
        chains.push({ slug: chain.slug, file });
      }
    }

    const keyIds = new Set<string>();
    for (const { table, column } of opts.encrypted.columns) {
      if (!tables.find((t) => t.name === table)?.columns.includes(column)) continue;
      const { rows } = await client.query<{ value: string }>(`select ${ident(column)} as value from ${ident(table)} where ${ident(column)} is not null`);
      for (const row of rows) {
        const id = opts.encrypted.keyIdOf(row.value);
        if (id) keyIds.add(id);
      }
    }
    await client.query('commit');

    const manifest: BackupManifest = {
      format: FORMAT,
      formatVersion: FORMAT_VERSION,
      chainflowVersion: opts.chainflowVersion,
      createdAt: new Date().toISOString(),
      migrations,
      tables: written,
      chains,
      encryptedWith: [...keyIds].sort(),
    };
    writeFileSync(join(target, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
    return { dir: target, manifest };
  } catch (err) {
    await client.query('rollback').catch(() => {});
    // No half-written backup is left to be mistaken for a complete one.
    for (const part of created ? [target] : [join(target, 'tables'), join(target, 'chains')]) rmSync(part, { recursive: true, force: true });
    throw err;
  } finally {
    await client.end();
  }
}

/** Reads and checks `dir/manifest.json`. */
export function readManifest(dir: string): BackupManifest {
  const file = join(resolve(dir), 'manifest.json');
  if (!existsSync(file)) {
    throw new BackupError(`${file} is missing: ${resolve(dir)} is not a Chainflow backup, or the backup did not finish. Use a complete backup directory.`);
  }
  const manifest = JSON.parse(readFileSync(file, 'utf8')) as Partial<BackupManifest>;
  if (manifest.format !== FORMAT || !Array.isArray(manifest.tables) || !Array.isArray(manifest.migrations)) {
    throw new BackupError(`${file} is not a Chainflow backup manifest.`);
  }
  if ((manifest.formatVersion ?? 0) > FORMAT_VERSION) {
    throw new BackupError(`The backup has format version ${manifest.formatVersion}; this Chainflow reads up to ${FORMAT_VERSION}. Restore it with a newer Chainflow.`);
  }
  return manifest as BackupManifest;
}

export interface RestoreOptions {
  /** Replace the contents of a database that has rows (otherwise refused). */
  force?: boolean;
}

export interface RestoreResult {
  tables: { name: string; rows: number }[];
  /** Migrations applied after loading (the backup came from an older Chainflow). */
  migratedAfter: string[];
  /**
   * Migrations the database had already applied beyond the backup's: its rows were
   * loaded into the newer schema (columns the backup lacks take their defaults).
   */
  aheadOfBackup: string[];
}

/** Loads one table's JSON lines in batches; returns the rows inserted. */
async function loadTable(client: pg.ClientBase, file: string, table: TableInfo, columns: string[]): Promise<number> {
  const list = columns.map(ident).join(', ');
  const sql = `insert into ${ident(table.name)} (${list})${table.hasIdentity ? ' overriding system value' : ''}
    select ${list} from json_populate_recordset(null::${ident(table.name)}, $1::json)`;
  let batch: string[] = [];
  let chars = 0;
  let rows = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const result = await client.query(sql, [`[${batch.join(',')}]`]);
    rows += result.rowCount ?? 0;
    batch = [];
    chars = 0;
  };
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    batch.push(line);
    chars += line.length;
    if (batch.length >= BATCH_ROWS || chars >= BATCH_CHARS) await flush();
  }
  await flush();
  return rows;
}

/**
 * Restores a backup made by {@link backupDatabase} into the database at `url`: migrates
 * it to the backup's schema, refuses when any table has rows (unless `force`), loads
 * every table in one transaction, checks the row counts against the manifest, then
 * applies the migrations the backup predates.
 */
export async function restoreDatabase(url: string, dir: string, opts: RestoreOptions = {}): Promise<RestoreResult> {
  const source = resolve(dir);
  const manifest = readManifest(source);
  const known = migrationsList.map((m) => m.name);
  const unknown = manifest.migrations.filter((name) => !known.includes(name));
  if (unknown.length) {
    throw new BackupError(`The backup was made by a newer Chainflow (migration ${unknown.join(', ')} is unknown here). Upgrade Chainflow, then restore.`);
  }
  for (const table of manifest.tables) {
    if (!existsSync(join(source, table.file))) throw new BackupError(`The backup is incomplete: ${join(source, table.file)} is missing.`);
  }

  // The schema the rows were taken from; later migrations run after the load, so they
  // transform restored data exactly as they would have transformed the original.
  const orm = await createOrm({ url, poolMax: 2 });
  try {
    const last = manifest.migrations.at(-1);
    if (last) await orm.migrator.up({ to: last });
    const aheadOfBackup = (await orm.migrator.getExecuted()).map((m) => m.name).filter((name) => !manifest.migrations.includes(name));

    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const counts: RestoreResult['tables'] = [];
    try {
      const tables = await describeTables(client);
      const byName = new Map(tables.map((t) => [t.name, t]));
      const dataTables = tables.filter((t) => t.name !== MIGRATIONS_TABLE);
      const missing = manifest.tables.filter((t) => t.name !== MIGRATIONS_TABLE && !byName.has(t.name)).map((t) => t.name);
      if (missing.length) throw new BackupError(`The database has no table ${missing.join(', ')} after migrating: the backup does not match this Chainflow's schema.`);

      const withRows: string[] = [];
      for (const table of dataTables) {
        const { rows } = await client.query<{ any: boolean }>(`select exists (select 1 from ${ident(table.name)}) as any`);
        if (rows[0]?.any) withRows.push(table.name);
      }
      if (withRows.length && !opts.force) {
        throw new BackupError(
          `The database is not empty (rows in ${withRows.join(', ')}). Restore into a new, empty database (create it and point DATABASE_URL at it), or pass --force to replace everything in this one.`,
        );
      }

      await client.query('begin');
      try {
        if (dataTables.length && opts.force) await client.query(`truncate ${dataTables.map((t) => ident(t.name)).join(', ')} restart identity cascade`);
        const order = await insertOrder(client, manifest.tables.map((t) => t.name).filter((n) => n !== MIGRATIONS_TABLE));
        for (const name of order) {
          const entry = manifest.tables.find((t) => t.name === name);
          const table = byName.get(name);
          if (!entry || !table) continue;
          const columns = entry.columns.filter((c) => table.columns.includes(c) && !table.generated.includes(c));
          const inserted = await loadTable(client, join(source, entry.file), table, columns);
          const { rows } = await client.query<{ n: string }>(`select count(*) as n from ${ident(name)}`);
          const present = Number(rows[0]?.n ?? 0);
          if (inserted !== entry.rows || present !== entry.rows) {
            throw new BackupError(`Table ${name}: the backup lists ${entry.rows} rows, but ${inserted} were read and ${present} are in the database; nothing was restored. Check that ${entry.file} is complete.`);
          }
          counts.push({ name, rows: present });
        }
        // Serial columns continue after the restored ids.
        for (const table of dataTables) {
          for (const column of table.columns) {
            const seq = await client.query<{ seq: string | null }>('select pg_get_serial_sequence($1, $2) as seq', [ident(table.name), column]);
            const name = seq.rows[0]?.seq;
            if (name) await client.query(`select setval($1::regclass, coalesce((select max(${ident(column)}) from ${ident(table.name)}), 0) + 1, false)`, [name]);
          }
        }
        await client.query('commit');
      } catch (err) {
        await client.query('rollback').catch(() => {});
        throw err;
      }
    } finally {
      await client.end();
    }
    return { tables: counts, migratedAfter: await migrate(orm), aheadOfBackup };
  } finally {
    await orm.close();
  }
}
