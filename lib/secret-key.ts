import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config.ts';
import { createSecretBox, type SecretBox } from './secret-box.ts';

/**
 * The key for secrets at rest: CHAINFLOW_SECRET_KEY, else (development only) a key
 * generated once into DATA_DIR/secret.key. Production must set the variable.
 */
export function loadSecretKey(config: Config): string {
  if (config.secretKey) return config.secretKey;
  if (config.env === 'production') {
    throw new Error('CHAINFLOW_SECRET_KEY is required in production (make one with: openssl rand -base64 32). See docs/deploy.md (key rotation).');
  }
  const file = join(config.dataDir, 'secret.key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(config.dataDir, { recursive: true });
  const key = `k1:${randomBytes(32).toString('base64')}`;
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return key;
}

/** The secret box for this process. */
export function secretBoxFor(config: Config): SecretBox {
  return createSecretBox(loadSecretKey(config));
}
