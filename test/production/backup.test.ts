import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { parse as parseYaml } from 'yaml';
import { importChain, parseChainFile, publishChain } from '../../api/services/chain-service.ts';
import { totpContext } from '../../api/auth/service.ts';
import { ChainSchema, VariableSchema } from '../../db/entities.ts';
import { AuditEntrySchema, GrantSchema, UserSchema } from '../../db/accounts.ts';
import { createCredential, loadCredential } from '../../db/credential-store.ts';
import { createOrm, migrate } from '../../db/orm.ts';
import { migrationsList } from '../../db/migrations/index.ts';
import type { BackupManifest } from '../../db/backup.ts';
import { send, startDialogueHarness, startSession, texts, type DialogueHarness } from '../support/dialogue.ts';
import { testStack } from '../support/stack.ts';
import { runCli } from './support.ts';

let h: DialogueHarness;
let dir: string;
const databases: string[] = [];

const example = (file: string) => parseChainFile(readFileSync(new URL(`../../examples/${file}`, import.meta.url), 'utf8'));

/** A new, truly empty database (not the migrated template). */
async function emptyDatabase(): Promise<string> {
  const { pgAdminUrl } = testStack();
  const name = `restore_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const admin = new pg.Client({ connectionString: pgAdminUrl });
  await admin.connect();
  try {
    await admin.query(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  databases.push(name);
  return pgAdminUrl.replace(/\/postgres$/, `/${name}`);
}

/** Every row of every table, as PostgreSQL renders it, sorted. */
async function snapshot(url: string): Promise<Record<string, string[]>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows: tables } = await client.query<{ table_name: string }>(
      `select table_name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE' order by table_name`,
    );
    const out: Record<string, string[]> = {};
    for (const { table_name: table } of tables) {
      const sql = table === 'chainflow_migrations' ? `select name as j from "${table}" order by id` : `select row_to_json(t)::text as j from "${table}" t order by 1`;
      out[table] = (await client.query<{ j: string }>(sql)).rows.map((r) => r.j);
    }
    return out;
  } finally {
    await client.end();
  }
}

const cli = (args: string[], databaseUrl: string) => runCli(args, { cwd: dir, env: { DATABASE_URL: databaseUrl, DATA_DIR: join(dir, 'data') } });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'chainflow-backup-'));
  chmodSync(dir, 0o755);
  h = await startDialogueHarness('backup');
  const em = h.db.orm.em.fork();

  // Chains: two imported, one of them published twice.
  const { chain } = await importChain(em, example('greeting.yaml'));
  await importChain(em, example('reminders.yaml'));
  const draft = structuredClone(chain.draftGraph) as { nodes: Array<{ id: string; data: Record<string, unknown> }> };
  const welcome = draft.nodes.find((n) => n.id === 'welcome_back');
  if (welcome) welcome.data.text = 'Welcome back again, {{ user.name }}!';
  const live = await em.findOneOrFail(ChainSchema, { id: chain.id });
  live.draftGraph = draft as unknown as Record<string, unknown>;
  const v2 = await publishChain(em, live, { note: 'second' });

  // Accounts: an admin with an encrypted TOTP secret, a grant, an audit entry (a bigserial).
  const userId = randomUUID();
  em.create(UserSchema, { id: userId, email: 'admin@example.test', name: 'Admin Ä', passwordHash: '$argon2id$v=19$placeholder', role: 'admin', totpSecret: h.secretBox.encrypt('JBSWY3DPEHPK3PXP', totpContext(userId)), totpEnabled: true });
  em.create(GrantSchema, { id: randomUUID(), userId, resourceType: 'chain', resourceId: chain.id, role: 'owner' });
  em.create(AuditEntrySchema, { actorId: userId, actorEmail: 'admin@example.test', action: 'chain.publish', targetType: 'chain', targetId: chain.id, summary: { after: { version: 2 } } });
  // A JSON array value: the classic trap of drivers that turn arrays into PostgreSQL arrays.
  em.create(VariableSchema, { id: randomUUID(), scope: 'user', ownerKey: 'web:list', name: 'tags', value: [1, 'два', { nested: null }] });
  await em.flush();

  // Credentials (ciphertext under the harness's key 'test').
  await createCredential(h.db.orm.em, h.secretBox, { name: 'apiKey', kind: 'secret', value: 's3cret-value-1' });
  await createCredential(h.db.orm.em, h.secretBox, { name: 'partner', kind: 'basic', value: 'pa55word', meta: { username: 'chainflow' } });

  // A real session: runs, run events and persisted variables.
  const session = await startSession(h.client, h.taskQueue, { chainId: chain.id, versionId: v2.id }, { visitor: 'ann' });
  expect(texts(await send(session, 'hi'))).toEqual(["Hi! I'm the greeting bot. What's your name?"]);
  expect(texts(await send(session, 'Ann'))).toEqual(['Nice to meet you, Ann! I’ll call you that instead of your Telegram name.']);
}, 180_000);

afterAll(async () => {
  await h?.close();
  const admin = new pg.Client({ connectionString: testStack().pgAdminUrl });
  await admin.connect();
  try {
    for (const name of databases) await admin.query(`drop database if exists "${name}" with (force)`);
  } finally {
    await admin.end();
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('chainflow backup and restore', () => {
  it('restores into a fresh database the same chains, versions, users, credentials, variables and run events', async () => {
    const backup = await cli(['backup', 'nightly'], h.db.url);
    expect(backup.code, backup.stderr).toBe(0);
    expect(backup.stdout).toMatch(/Secrets stay encrypted; restoring them needs CHAINFLOW_SECRET_KEY with key 'test'/);
    const backupDir = join(dir, 'nightly');

    const source = await snapshot(h.db.url);
    const manifest = JSON.parse(readFileSync(join(backupDir, 'manifest.json'), 'utf8')) as BackupManifest;
    expect(manifest.migrations).toEqual(migrationsList.map((m) => m.name));
    expect(manifest.encryptedWith).toEqual(['test']);
    expect(Object.fromEntries(manifest.tables.map((t) => [t.name, t.rows]))).toEqual(Object.fromEntries(Object.entries(source).map(([t, rows]) => [t, rows.length])));
    for (const table of ['chain', 'chain_version', 'app_user', 'access_grant', 'audit_entry', 'credential', 'variable', 'run', 'run_event']) {
      expect(source[table]?.length, `the source has rows in ${table}`).toBeGreaterThan(0);
    }
    // Ciphertext only: no secret value appears anywhere in the backup.
    const credentialLines = readFileSync(join(backupDir, 'tables', 'credential.jsonl'), 'utf8');
    expect(credentialLines).toContain('v1:test:');
    expect(credentialLines).not.toContain('s3cret-value-1');
    expect(credentialLines).not.toContain('pa55word');
    // The chains as YAML, for people: the draft graphs.
    const drafts = (await h.db.orm.em.fork().find(ChainSchema, {}, { orderBy: { slug: 'asc' } })).map((c) => [c.slug, c.draftGraph]);
    expect(manifest.chains.map((c) => c.slug)).toEqual(drafts.map(([slug]) => slug));
    for (const [slug, graph] of drafts) expect(parseYaml(readFileSync(join(backupDir, 'chains', `${String(slug)}.yaml`), 'utf8'))).toEqual(graph);

    const target = await emptyDatabase();
    const restore = await cli(['restore', 'nightly'], target);
    expect(restore.code, restore.stderr).toBe(0);
    expect(restore.stdout).toMatch(/row counts verified/);
    expect(restore.stdout).toMatch(/need key 'test', which CHAINFLOW_SECRET_KEY does not list/);
    expect(await snapshot(target)).toEqual(source);

    // The restored installation works: secrets decrypt with the same key, serial ids continue.
    const orm = await createOrm({ url: target, poolMax: 1 });
    try {
      expect((await loadCredential(orm.em, h.secretBox, 'apiKey')).value).toBe('s3cret-value-1');
      expect((await loadCredential(orm.em, h.secretBox, 'partner')).value).toBe('pa55word');
      const user = await orm.em.fork().findOneOrFail(UserSchema, { email: 'admin@example.test' });
      expect(h.secretBox.decrypt(user.totpSecret ?? '', totpContext(user.id))).toBe('JBSWY3DPEHPK3PXP');
      const conn = orm.em.getConnection();
      const [max] = await conn.execute<{ id: string }[]>('select max(id)::text as id from run_event');
      const [next] = await conn.execute<{ id: string }[]>(`insert into run_event (run_id, seq, type, payload, at) values ('x', 1, 'test', '{}', now()) returning id::text as id`);
      expect(BigInt(next?.id ?? 0)).toBeGreaterThan(BigInt(max?.id ?? 0));
    } finally {
      await orm.close();
    }
  });

  it('refuses a database that has rows unless --force, which replaces its contents', async () => {
    const backup = await cli(['backup', 'before-force'], h.db.url);
    expect(backup.code, backup.stderr).toBe(0);
    const source = await snapshot(h.db.url);

    const refused = await cli(['restore', 'before-force'], h.db.url);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/The database is not empty \(rows in .*chain.*\)\. Restore into a new, empty database .* or pass --force/);

    // Something changes after the backup; --force puts the backed-up state back.
    const em = h.db.orm.em.fork();
    await em.nativeDelete(VariableSchema, { ownerKey: 'web:list' });
    const forced = await cli(['restore', 'before-force', '--force'], h.db.url);
    expect(forced.code, forced.stderr).toBe(0);
    expect(await snapshot(h.db.url)).toEqual(source);
  });

  it('restores a backup of an older schema and then applies the newer migrations to it', async () => {
    const older = await emptyDatabase();
    const orm = await createOrm({ url: older, poolMax: 1 });
    const second = migrationsList[1]?.name ?? '';
    try {
      await orm.migrator.up({ to: second });
      await orm.em.getConnection().execute(`insert into chain (id, slug, name, draft_graph, created_at, updated_at) values (?, 'old-chain', 'Old', '{"nodes": []}', now(), now())`, [randomUUID()]);
    } finally {
      await orm.close();
    }
    const backup = await cli(['backup', 'older'], older);
    expect(backup.code, backup.stderr).toBe(0);
    const target = await emptyDatabase();
    const restore = await cli(['restore', 'older'], target);
    expect(restore.code, restore.stderr).toBe(0);
    const after = await snapshot(target);
    expect(after.chainflow_migrations).toEqual(migrationsList.map((m) => m.name));
    expect(restore.stdout).toContain(`then applied ${migrationsList.slice(2).map((m) => m.name).join(', ')}`);
    expect(after.chain).toHaveLength(1);
    expect(after.chain?.[0]).toContain('"slug":"old-chain"');

    // Into a database already migrated to the newest schema: loaded, with a note saying so.
    const migrated = await emptyDatabase();
    const orm2 = await createOrm({ url: migrated, poolMax: 1 });
    try {
      await migrate(orm2);
    } finally {
      await orm2.close();
    }
    const intoNewer = await cli(['restore', 'older'], migrated);
    expect(intoNewer.code, intoNewer.stderr).toBe(0);
    expect(intoNewer.stdout).toContain(`already migrated past the backup (${migrationsList.slice(2).map((m) => m.name).join(', ')})`);
    expect((await snapshot(migrated)).chain).toEqual(after.chain);
  });

  it('refuses an incomplete backup, a non-empty backup directory and unknown options with messages that say what to do', async () => {
    mkdirSync(join(dir, 'half'), { recursive: true });
    writeFileSync(join(dir, 'half', 'stray.txt'), 'x');
    const half = await cli(['restore', 'half'], await emptyDatabase());
    expect(half.code).toBe(1);
    expect(half.stderr).toMatch(/manifest\.json is missing: .* is not a Chainflow backup, or the backup did not finish/);

    const intoFull = await cli(['backup', 'half'], h.db.url);
    expect(intoFull.code).toBe(1);
    expect(intoFull.stderr).toMatch(/is not empty\. Name a new directory/);

    const option = await cli(['restore', 'half', '--yes'], h.db.url);
    expect(option.code).toBe(1);
    expect(option.stderr).toMatch(/Unknown option --yes/);

    // Without a directory, the backup lands in ./backups/chainflow-<time>.
    const dated = await cli(['backup'], h.db.url);
    expect(dated.code, dated.stderr).toBe(0);
    const written = /wrote (\S+)/.exec(dated.stdout)?.[1] ?? '';
    expect(written).toMatch(/\/backups\/chainflow-\d{4}-\d\d-\d\dT/);
    expect(existsSync(join(written, 'manifest.json'))).toBe(true);
  });
});
