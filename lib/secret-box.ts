// Encryption of secrets at rest (credentials, bot tokens): AES-256-GCM with a key list,
// so keys can be rotated without a flag day.
//
// Stored format: `v1:<keyId>:<iv b64>:<tag b64>:<ciphertext b64>` (12-byte random IV,
// 16-byte tag). The key id names the key that encrypted the value; decryption picks it
// from the list, encryption always uses the first (current) key.
//
// Rotation: put the new key first and keep the old ones after it
// (`SECRET_KEYS=k2:<new>,k1:<old>`); everything still decrypts, new writes use k2, and
// `box.reencrypt(stored)` (or `box.needsRotation(stored)`) moves old values over. Once no
// value names k1 any more, drop it from the list.

import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;

/** A wrong key, a tampered value, a malformed string or an unknown key id. */
export class SecretBoxError extends Error {
  override name = 'SecretBoxError';
}

export interface SecretKey {
  /** Short name stored with each value (letters, digits, '_' or '-', ≤ 32). */
  id: string;
  /** 32 bytes. */
  key: Buffer;
}

export interface SecretBox {
  /** Id of the key new values are encrypted with. */
  readonly currentKeyId: string;
  /**
   * Encrypts a string. `context` (associated data, e.g. `credential:<id>`) binds the value
   * to where it is stored: decrypting it with another context fails.
   */
  encrypt(plaintext: string, context?: string): string;
  /** Decrypts a value made by {@link SecretBox.encrypt} with any key of the list. */
  decrypt(stored: string, context?: string): string;
  /** True when the value was encrypted with an older key than the current one. */
  needsRotation(stored: string): boolean;
  /** The value encrypted with the current key (unchanged when it already is). */
  reencrypt(stored: string, context?: string): string;
}

/**
 * Reads a 32-byte key from base64 (standard or url-safe) or 64 hex characters.
 *
 * @throws {SecretBoxError} naming what is wrong (never echoing the key).
 */
export function parseKeyMaterial(text: string): Buffer {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, 'hex');
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)) {
    const key = Buffer.from(trimmed, 'base64');
    if (key.length === 32) return key;
    throw new SecretBoxError(`A secret key must be 32 bytes; this base64 text decodes to ${key.length} bytes (make one with: openssl rand -base64 32)`);
  }
  throw new SecretBoxError('A secret key must be 32 bytes as base64 or 64 hex characters (make one with: openssl rand -base64 32)');
}

/** A key id derived from the key itself (first 8 hex characters of its SHA-256). */
export function fingerprintKey(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

/**
 * Parses a key list: comma-separated entries, current key first, each `id:key` or just
 * `key` (its id is then its fingerprint).
 *
 * @example parseSecretKeys('k2:' + newKeyBase64 + ',k1:' + oldKeyBase64)
 */
export function parseSecretKeys(text: string): SecretKey[] {
  const entries = text.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  if (entries.length === 0) throw new SecretBoxError('No secret key given (make one with: openssl rand -base64 32)');
  return entries.map((entry, index) => {
    const colon = entry.indexOf(':');
    const id = colon >= 0 ? entry.slice(0, colon) : undefined;
    try {
      const key = parseKeyMaterial(colon >= 0 ? entry.slice(colon + 1) : entry);
      return { id: id ?? fingerprintKey(key), key };
    } catch (error) {
      if (error instanceof SecretBoxError) throw new SecretBoxError(`Secret key #${index + 1}${id ? ` ('${id}')` : ''}: ${error.message}`);
      throw error;
    }
  });
}

function b64(data: Buffer): string {
  return data.toString('base64');
}

function fromB64(text: string, what: string, bytes?: number): Buffer {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw new SecretBoxError(`Encrypted value is malformed: ${what} is not base64`);
  const data = Buffer.from(text, 'base64');
  if (bytes !== undefined && data.length !== bytes) throw new SecretBoxError(`Encrypted value is malformed: ${what} must be ${bytes} bytes`);
  return data;
}

interface Parsed {
  keyId: string;
  iv: Buffer;
  tag: Buffer;
  ciphertext: Buffer;
}

function parseStored(stored: string): Parsed {
  const parts = stored.split(':');
  if (parts.length !== 5) throw new SecretBoxError(`Encrypted value is malformed: expected '${VERSION}:<keyId>:<iv>:<tag>:<ciphertext>'`);
  const [version, keyId = '', iv = '', tag = '', ciphertext = ''] = parts;
  if (version !== VERSION) throw new SecretBoxError(`Encrypted value has unknown format version '${String(version).slice(0, 8)}' (this build reads '${VERSION}')`);
  if (!KEY_ID.test(keyId)) throw new SecretBoxError('Encrypted value is malformed: bad key id');
  return { keyId, iv: fromB64(iv, 'iv', IV_BYTES), tag: fromB64(tag, 'tag', TAG_BYTES), ciphertext: fromB64(ciphertext, 'ciphertext') };
}

/**
 * Creates a secret box from a key list (current key first), as parsed by
 * {@link parseSecretKeys} or given directly.
 *
 * @example
 * const box = createSecretBox(parseSecretKeys(config.secretKeys));
 * const stored = box.encrypt('sk-…', `credential:${id}`);
 * box.decrypt(stored, `credential:${id}`); // 'sk-…'
 */
export function createSecretBox(keys: readonly SecretKey[] | string): SecretBox {
  const list = typeof keys === 'string' ? parseSecretKeys(keys) : [...keys];
  const current = list[0];
  if (!current) throw new SecretBoxError('No secret key given (make one with: openssl rand -base64 32)');
  const byId = new Map<string, Buffer>();
  for (const { id, key } of list) {
    if (!KEY_ID.test(id)) throw new SecretBoxError(`Secret key id '${id.slice(0, 40)}' is invalid; use letters, digits, '_' or '-' (at most 32)`);
    if (key.length !== 32) throw new SecretBoxError(`Secret key '${id}' must be 32 bytes, got ${key.length}`);
    if (byId.has(id)) throw new SecretBoxError(`Secret key id '${id}' is listed twice`);
    byId.set(id, key);
  }

  const encrypt = (plaintext: string, context?: string): string => {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', current.key, iv, { authTagLength: TAG_BYTES });
    if (context !== undefined) cipher.setAAD(Buffer.from(context, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, current.id, b64(iv), b64(cipher.getAuthTag()), b64(ciphertext)].join(':');
  };

  const decrypt = (stored: string, context?: string): string => {
    const parsed = parseStored(stored);
    const key = byId.get(parsed.keyId);
    if (!key) {
      throw new SecretBoxError(`Encrypted value uses key '${parsed.keyId}', which is not configured (known: ${[...byId.keys()].join(', ')}); add it to the key list after the current key`);
    }
    const decipher = createDecipheriv('aes-256-gcm', key, parsed.iv, { authTagLength: TAG_BYTES });
    decipher.setAuthTag(parsed.tag);
    if (context !== undefined) decipher.setAAD(Buffer.from(context, 'utf8'));
    try {
      return Buffer.concat([decipher.update(parsed.ciphertext), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretBoxError(`Encrypted value does not authenticate with key '${parsed.keyId}': it was altered, belongs elsewhere, or the key is wrong`);
    }
  };

  return {
    currentKeyId: current.id,
    encrypt,
    decrypt,
    needsRotation: (stored) => parseStored(stored).keyId !== current.id,
    reencrypt: (stored, context) => (parseStored(stored).keyId === current.id ? stored : encrypt(decrypt(stored, context), context)),
  };
}
