import { hkdfSync, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSecretBox, type SecretBox } from '../../lib/secret-box.ts';

/** Who may register once the first user (the admin) exists. */
export type RegistrationMode = 'open' | 'invite' | 'closed';

/** Settings of accounts and sessions (config.ts › auth, resolved by the CLI). */
export interface AuthOptions {
  /** HS256 key of access tokens (≥ 32 characters). */
  jwtSecret: string;
  registration: RegistrationMode;
  /** Where this installation writes its setup token (DATA_DIR/setup-token), for the 403 that points to it. */
  setupTokenFile?: string | undefined;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  /** Requests per minute and client address on login, register, refresh and the TOTP routes. */
  rateLimitPerMinute: number;
  /** Consecutive failed logins that lock an account… */
  maxFailedLogins: number;
  /** …for this long. */
  lockoutSeconds: number;
  /** Encrypts TOTP secrets at rest: the installation's secret box (CHAINFLOW_SECRET_KEY); derived from the JWT secret when not given (tests). */
  totpBox: SecretBox;
}

/**
 * Fills in defaults: a random per-process JWT secret (fine for tests; the CLI always
 * passes a persistent one), invite-only registration, 15-minute access and 30-day refresh
 * tokens, 20 sign-in requests a minute, 5 failures → 15 minutes locked.
 */
export function resolveAuthOptions(partial: Partial<AuthOptions> = {}): AuthOptions {
  const jwtSecret = partial.jwtSecret ?? randomBytes(48).toString('base64url');
  if (jwtSecret.length < 32) throw new Error('The JWT secret must be at least 32 characters (JWT_SECRET).');
  return {
    jwtSecret,
    registration: partial.registration ?? 'invite',
    setupTokenFile: partial.setupTokenFile,
    accessTokenTtlSeconds: partial.accessTokenTtlSeconds ?? 15 * 60,
    refreshTokenTtlSeconds: partial.refreshTokenTtlSeconds ?? 30 * 24 * 3600,
    rateLimitPerMinute: partial.rateLimitPerMinute ?? 20,
    maxFailedLogins: partial.maxFailedLogins ?? 5,
    lockoutSeconds: partial.lockoutSeconds ?? 15 * 60,
    totpBox: partial.totpBox ?? totpBoxFromJwtSecret(jwtSecret),
  };
}

/**
 * A secret box for TOTP secrets keyed by HKDF(JWT secret). Rotating JWT_SECRET therefore
 * makes enrolled TOTP secrets unreadable (users enrol again); see docs/api.md.
 */
export function totpBoxFromJwtSecret(jwtSecret: string): SecretBox {
  const key = Buffer.from(hkdfSync('sha256', jwtSecret, 'chainflow', 'totp-secrets', 32));
  return createSecretBox([{ id: 'jwt', key }]);
}

/**
 * The JWT secret of an installation without JWT_SECRET: read from `DATA_DIR/jwt-secret`,
 * or generated there (mode 0600) on first start. Concurrent first starts agree: the
 * file is created exclusively and the loser reads the winner's secret.
 */
export function loadOrCreateJwtSecret(dataDir: string): string {
  const file = join(dataDir, 'jwt-secret');
  mkdirSync(dataDir, { recursive: true });
  try {
    writeFileSync(file, `${randomBytes(48).toString('base64url')}\n`, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  chmodSync(file, 0o600);
  const secret = readFileSync(file, 'utf8').trim();
  if (secret.length < 32) throw new Error(`${file} holds a JWT secret shorter than 32 characters; delete the file to generate a new one, or set JWT_SECRET.`);
  return secret;
}
