import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createSecretBox, fingerprintKey, parseKeyMaterial, parseSecretKeys, SecretBoxError } from './secret-box.ts';

const keyA = randomBytes(32);
const keyB = randomBytes(32);

function flipFirstByte(b64: string): string {
  const bytes = Buffer.from(b64, 'base64');
  bytes[0] = (bytes[0] ?? 0) ^ 1;
  return bytes.toString('base64');
}

describe('secret box', () => {
  it('round-trips text, including unicode, in the versioned format', () => {
    const box = createSecretBox([{ id: 'k1', key: keyA }]);
    const stored = box.encrypt('пароль sk-123 🔑');
    expect(stored).toMatch(/^v1:k1:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]*$/);
    expect(stored).not.toContain('sk-123');
    expect(box.decrypt(stored)).toBe('пароль sk-123 🔑');
  });

  it('uses a fresh IV for every value', () => {
    const box = createSecretBox([{ id: 'k1', key: keyA }]);
    expect(box.encrypt('same')).not.toBe(box.encrypt('same'));
  });

  it('rejects a tampered ciphertext, tag or IV', () => {
    const box = createSecretBox([{ id: 'k1', key: keyA }]);
    const [version, id, iv, tag, ct] = box.encrypt('a secret value').split(':') as [string, string, string, string, string];
    const tampered = [
      [version, id, iv, tag, flipFirstByte(ct)],
      [version, id, iv, flipFirstByte(tag), ct],
      [version, id, Buffer.from(randomBytes(12)).toString('base64'), tag, ct],
    ];
    for (const parts of tampered) {
      expect(() => box.decrypt(parts.join(':'))).toThrow(/does not authenticate with key 'k1'/);
    }
  });

  it('binds a value to its context (associated data)', () => {
    const box = createSecretBox([{ id: 'k1', key: keyA }]);
    const stored = box.encrypt('token', 'credential:1');
    expect(box.decrypt(stored, 'credential:1')).toBe('token');
    expect(() => box.decrypt(stored, 'credential:2')).toThrow(SecretBoxError);
    expect(() => box.decrypt(stored)).toThrow(SecretBoxError);
  });

  it('decrypts with older keys after rotation and re-encrypts with the current one', () => {
    const oldBox = createSecretBox([{ id: 'k1', key: keyA }]);
    const stored = oldBox.encrypt('rotate me', 'ctx');
    const rotated = createSecretBox([
      { id: 'k2', key: keyB },
      { id: 'k1', key: keyA },
    ]);
    expect(rotated.currentKeyId).toBe('k2');
    expect(rotated.decrypt(stored, 'ctx')).toBe('rotate me');
    expect(rotated.needsRotation(stored)).toBe(true);
    const moved = rotated.reencrypt(stored, 'ctx');
    expect(moved.startsWith('v1:k2:')).toBe(true);
    expect(rotated.needsRotation(moved)).toBe(false);
    expect(rotated.reencrypt(moved, 'ctx')).toBe(moved);
    // Once k1 is dropped, the moved value still decrypts; the old one names the missing key.
    const newOnly = createSecretBox([{ id: 'k2', key: keyB }]);
    expect(newOnly.decrypt(moved, 'ctx')).toBe('rotate me');
    expect(() => newOnly.decrypt(stored, 'ctx')).toThrow(/uses key 'k1', which is not configured/);
  });

  it('fails clearly on a wrong key with the same id', () => {
    const stored = createSecretBox([{ id: 'k1', key: keyA }]).encrypt('x');
    expect(() => createSecretBox([{ id: 'k1', key: keyB }]).decrypt(stored)).toThrow(/does not authenticate/);
  });

  it('names malformed values without echoing them', () => {
    const box = createSecretBox([{ id: 'k1', key: keyA }]);
    expect(() => box.decrypt('plain-text-secret')).toThrow(/malformed/);
    expect(() => box.decrypt('v9:k1:a:b:c')).toThrow(/unknown format version 'v9'/);
    expect(() => box.decrypt('v1:k1:!!:b:c')).toThrow(/iv is not base64/);
    try {
      box.decrypt('plain-text-secret');
    } catch (error) {
      expect(String(error)).not.toContain('plain-text-secret');
    }
  });
});

describe('secret keys', () => {
  it('reads base64, url-safe base64 and hex keys', () => {
    expect(parseKeyMaterial(keyA.toString('base64')).equals(keyA)).toBe(true);
    expect(parseKeyMaterial(keyA.toString('base64url')).equals(keyA)).toBe(true);
    expect(parseKeyMaterial(keyA.toString('hex')).equals(keyA)).toBe(true);
  });

  it('rejects keys of the wrong size with a hint', () => {
    expect(() => parseKeyMaterial(randomBytes(16).toString('base64'))).toThrow(/32 bytes.*16 bytes.*openssl rand/);
    expect(() => parseKeyMaterial('not a key!')).toThrow(/32 bytes/);
  });

  it('parses a list with ids, deriving missing ids from the key', () => {
    const keys = parseSecretKeys(`k2:${keyB.toString('base64')}, ${keyA.toString('hex')}`);
    expect(keys.map((key) => key.id)).toEqual(['k2', fingerprintKey(keyA)]);
    expect(() => parseSecretKeys('')).toThrow(/No secret key/);
    expect(() => parseSecretKeys(`a:${keyA.toString('base64')},b:short`)).toThrow(/#2 \('b'\)/);
  });

  it('refuses duplicate ids', () => {
    expect(() => createSecretBox([{ id: 'k', key: keyA }, { id: 'k', key: keyB }])).toThrow(/listed twice/);
  });
});
