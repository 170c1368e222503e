import { hash, verify } from '@node-rs/argon2';

// argon2id with the library's defaults (19 MiB, 2 passes, 1 lane: OWASP's baseline).
// The library's default algorithm is argon2id; its `Algorithm` is a const enum, which
// type stripping cannot read, so it is not named here (the test checks the prefix).

/** The PHC string of a password. */
export function hashPassword(password: string): Promise<string> {
  return hash(password);
}

/** Whether a password matches its stored hash; a malformed hash is a mismatch. */
export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  try {
    return await verify(stored, password);
  } catch {
    return false;
  }
}

let decoyHash: Promise<string> | undefined;

/**
 * Spends the time of one verification against a throwaway hash, so a login for an
 * unknown address takes as long as one with a wrong password.
 */
export async function burnVerification(password: string): Promise<void> {
  decoyHash ??= hash('chainflow-decoy-password');
  await verifyPassword(await decoyHash, password);
}
