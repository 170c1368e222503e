// `chainflow backup [dir]` and `chainflow restore <dir> [--force]`: the commands around
// db/backup.ts (the logical backup itself), with the secret-key checks and messages.

import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Config } from '../config.ts';
import { VERSION } from '../api/app.ts';
import { backupDatabase, readManifest, restoreDatabase, type BackupManifest } from '../db/backup.ts';
import { parseSecretKeys } from '../lib/secret-box.ts';
import { resolveDatabaseUrl } from './import-export.ts';
import { ENCRYPTED_COLUMNS, keyIdOf } from './encrypted-columns.ts';

/** The key ids of `keyList` (CHAINFLOW_SECRET_KEY syntax), or [] when it does not parse. */
function configuredKeyIds(keyList: string | undefined): string[] {
  if (!keyList) return [];
  try {
    return parseSecretKeys(keyList).map((k) => k.id);
  } catch {
    return [];
  }
}

function secretKeyNote(config: Config, manifest: BackupManifest): string {
  if (manifest.encryptedWith.length === 0) return '';
  const needed = manifest.encryptedWith.map((id) => `'${id}'`).join(', ');
  const fromFile = join(config.dataDir, 'secret.key');
  const keyList = config.secretKey ?? (existsSync(fromFile) ? readFileSync(fromFile, 'utf8').trim() : undefined);
  const missing = manifest.encryptedWith.filter((id) => !configuredKeyIds(keyList).includes(id));
  return missing.length
    ? `\nWarning: the encrypted secrets need key ${missing.map((id) => `'${id}'`).join(', ')}, which CHAINFLOW_SECRET_KEY does not list. Set it to the key list of the installation the backup came from, or the credentials cannot be decrypted.`
    : `\nEncrypted secrets need key ${needed}: CHAINFLOW_SECRET_KEY lists it.`;
}

function defaultBackupDir(): string {
  return join('backups', `chainflow-${new Date().toISOString().replace(/[:.]/g, '-')}`);
}

/** `chainflow backup [dir]`. */
export async function backupCommand(config: Config, args: string[]): Promise<void> {
  const dir = args.find((a) => !a.startsWith('--')) ?? defaultBackupDir();
  const { dir: written, manifest } = await backupDatabase(await resolveDatabaseUrl(config), dir, {
    chainflowVersion: VERSION,
    encrypted: { columns: ENCRYPTED_COLUMNS, keyIdOf },
  });
  const rows = manifest.tables.map((t) => `  ${t.name.padEnd(22)} ${t.rows}`).join('\n');
  const keys = manifest.encryptedWith.length
    ? `\nSecrets stay encrypted; restoring them needs CHAINFLOW_SECRET_KEY with key ${manifest.encryptedWith.map((id) => `'${id}'`).join(', ')}. Keep the key apart from the backup.`
    : '';
  process.stdout.write(`wrote ${written}\n${rows}\n  ${manifest.chains.length} chain(s) as YAML under chains/${keys}\n`);
}

/** `chainflow restore <dir> [--force]`. */
export async function restoreCommand(config: Config, args: string[]): Promise<void> {
  const dir = args.find((a) => !a.startsWith('--'));
  if (!dir) throw new Error('Usage: chainflow restore <backup dir> [--force]');
  const unknown = args.filter((a) => a.startsWith('--') && a !== '--force');
  if (unknown.length) throw new Error(`Unknown option ${unknown.join(', ')}. Usage: chainflow restore <backup dir> [--force]`);
  const manifest = readManifest(dir);
  const result = await restoreDatabase(await resolveDatabaseUrl(config), dir, { force: args.includes('--force') });
  const rows = result.tables.map((t) => `  ${t.name.padEnd(22)} ${t.rows}`).join('\n');
  const after = result.migratedAfter.length ? `\nthen applied ${result.migratedAfter.join(', ')}` : '';
  const ahead = result.aheadOfBackup.length
    ? `\nNote: the database was already migrated past the backup (${result.aheadOfBackup.join(', ')}); the rows went into the newer schema without those migrations' data changes. Restoring into a new, unmigrated database avoids this.`
    : '';
  process.stdout.write(`restored ${resolve(dir)} (made ${manifest.createdAt}), row counts verified:\n${rows}${after}${ahead}${secretKeyNote(config, manifest)}\n`);
}
