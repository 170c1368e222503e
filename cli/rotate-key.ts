// `chainflow rotate-key`: re-encrypts every secret at rest with the current (first) key
// of CHAINFLOW_SECRET_KEY. The rotation procedure is in docs/deploy.md › Key rotation:
// put the new key first everywhere, run this, then drop the old key.

import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../config.ts';
import { createOrm } from '../db/orm.ts';
import { rotateCredentials } from '../db/credential-store.ts';
import { SecretBoxError, type SecretBox } from '../lib/secret-box.ts';
import { secretBoxFor } from '../lib/secret-key.ts';
import { resolveDatabaseUrl } from './import-export.ts';
import { ENCRYPTED_COLUMNS, keyIdOf, type EncryptedColumn } from './encrypted-columns.ts';

export interface RotationReport {
  currentKeyId: string;
  /** Values re-encrypted, per kind of secret. */
  rotated: Record<string, number>;
  /** Values that did not decrypt with any configured key (left alone), as "what id/name". */
  failed: string[];
  /** Key ids other than the current one still named by stored values (after rotation). */
  remainingKeyIds: string[];
}

const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;

async function tableHasColumn(em: EntityManager, { table, column }: EncryptedColumn): Promise<boolean> {
  const rows = await em.getConnection().execute<{ n: number }[]>(
    'select count(*)::int as n from information_schema.columns where table_schema = current_schema() and table_name = ? and column_name = ?',
    [table, column],
  );
  return (rows[0]?.n ?? 0) > 0;
}

/**
 * Re-encrypts one encrypted column row by row (each update checks the old value, so a
 * value changed meanwhile is not overwritten). Credentials go through
 * `rotateCredentials` instead.
 */
async function rotateColumn(em: EntityManager, box: SecretBox, col: EncryptedColumn): Promise<{ rotated: number; failed: string[] }> {
  const conn = em.getConnection();
  const rows = await conn.execute<{ id: string; value: string }[]>(`select id::text as id, ${ident(col.column)} as value from ${ident(col.table)} where ${ident(col.column)} is not null`);
  let rotated = 0;
  const failed: string[] = [];
  for (const row of rows) {
    try {
      if (!box.needsRotation(row.value)) continue;
      const next = box.reencrypt(row.value, col.context(row.id));
      await conn.execute(`update ${ident(col.table)} set ${ident(col.column)} = ? where id = ? and ${ident(col.column)} = ?`, [next, row.id, row.value]);
      rotated++;
    } catch (error) {
      if (!(error instanceof SecretBoxError)) throw error;
      failed.push(`${col.what} ${row.id}`);
    }
  }
  return { rotated, failed };
}

/** Key ids named by stored values, other than the current one. */
async function otherKeyIds(em: EntityManager, box: SecretBox, columns: EncryptedColumn[]): Promise<string[]> {
  const ids = new Set<string>();
  for (const col of columns) {
    const rows = await em.getConnection().execute<{ value: string }[]>(`select ${ident(col.column)} as value from ${ident(col.table)} where ${ident(col.column)} is not null`);
    for (const row of rows) {
      const id = keyIdOf(row.value);
      if (id && id !== box.currentKeyId) ids.add(id);
    }
  }
  return [...ids].sort();
}

/** Re-encrypts every secret at rest with the box's current key. */
export async function rotateSecrets(em: EntityManager, box: SecretBox): Promise<RotationReport> {
  const columns: EncryptedColumn[] = [];
  for (const col of ENCRYPTED_COLUMNS) if (await tableHasColumn(em, col)) columns.push(col);
  const rotated: Record<string, number> = {};
  const failed: string[] = [];
  for (const col of columns) {
    if (col.table === 'credential') {
      const result = await rotateCredentials(em, box);
      rotated[col.what] = result.rotated;
      failed.push(...result.failed.map((name) => `credential '${name}'`));
    } else {
      const result = await rotateColumn(em.fork(), box, col);
      rotated[col.what] = result.rotated;
      failed.push(...result.failed);
    }
  }
  return { currentKeyId: box.currentKeyId, rotated, failed, remainingKeyIds: await otherKeyIds(em, box, columns) };
}

/** `chainflow rotate-key`. */
export async function rotateKeyCommand(config: Config): Promise<void> {
  const box = secretBoxFor(config);
  const orm = await createOrm({ url: await resolveDatabaseUrl(config), poolMax: 2 });
  try {
    const report = await rotateSecrets(orm.em.fork(), box);
    const counts = Object.entries(report.rotated).map(([what, n]) => `  ${what}: ${n} re-encrypted`).join('\n');
    process.stdout.write(`current key '${report.currentKeyId}'\n${counts}\n`);
    if (report.failed.length) {
      throw new Error(
        `${report.failed.length} value(s) did not decrypt with any configured key and were left as they are: ${report.failed.join(', ')}. ` +
          'Add the key they were encrypted with to CHAINFLOW_SECRET_KEY (after the current key) and run rotate-key again, or re-enter those secrets.',
      );
    }
    process.stdout.write(
      report.remainingKeyIds.length
        ? `Values still use key ${report.remainingKeyIds.map((id) => `'${id}'`).join(', ')} (written meanwhile by a process with the old key list?): run rotate-key again before dropping it.\n`
        : `Every secret now uses key '${report.currentKeyId}'. The older keys can be removed from CHAINFLOW_SECRET_KEY once every process runs with the new list.\n`,
    );
  } finally {
    await orm.close();
  }
}
