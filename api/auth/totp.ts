import { Secret, TOTP } from 'otpauth';

const PERIOD = 30;

function totpFor(secretBase32: string, label: string): TOTP {
  return new TOTP({ issuer: 'Chainflow', label, algorithm: 'SHA1', digits: 6, period: PERIOD, secret: Secret.fromBase32(secretBase32) });
}

/** A new TOTP secret (160 bits, base32) and its `otpauth://` URI for authenticator apps. */
export function newTotpSecret(label: string): { secret: string; uri: string } {
  const secret = new Secret({ size: 20 }).base32;
  return { secret, uri: totpFor(secret, label).toString() };
}

/**
 * Checks a 6-digit code (±1 period of clock drift). Returns the time step it belongs to,
 * so a caller can refuse a code that was already used, or null when it does not match.
 */
export function checkTotp(secretBase32: string, code: string, now = Date.now()): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const delta = totpFor(secretBase32, 'check').validate({ token: code, timestamp: now, window: 1 });
  if (delta === null) return null;
  return Math.floor(now / 1000 / PERIOD) + delta;
}

/** The current code of a secret (tests and the CLI use it; the API never returns codes). */
export function currentTotp(secretBase32: string, now = Date.now()): string {
  return totpFor(secretBase32, 'code').generate({ timestamp: now });
}
