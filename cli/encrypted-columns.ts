// Where Chainflow keeps values encrypted with the secret box (lib/secret-box.ts), and the
// associated data each one is bound to. `chainflow rotate-key` re-encrypts them and
// `chainflow backup` records which key ids they need. A new encrypted column (bot tokens,
// say) is added here so both commands see it.

import { credentialContext } from '../db/credential.ts';
import { botSecretContext, botWebhookSecretContext } from '../db/bots.ts';
import { totpContext } from '../api/auth/service.ts';

export interface EncryptedColumn {
  table: string;
  column: string;
  /** What the value is, for messages ("credential", "TOTP secret"). */
  what: string;
  /** The associated data the value was encrypted with, from the row id. */
  context: (id: string) => string;
}

export const ENCRYPTED_COLUMNS: readonly EncryptedColumn[] = [
  { table: 'credential', column: 'encrypted_value', what: 'credential', context: credentialContext },
  { table: 'app_user', column: 'totp_secret', what: 'TOTP secret', context: totpContext },
  { table: 'bot', column: 'encrypted_secret', what: 'bot secret', context: botSecretContext },
  { table: 'bot', column: 'encrypted_webhook_secret', what: 'bot webhook secret', context: botWebhookSecretContext },
];

/** The key id of a stored `v1:<keyId>:…` value, or undefined when it is not one. */
export function keyIdOf(stored: string): string | undefined {
  const match = /^v1:([A-Za-z0-9_-]{1,32}):/.exec(stored);
  return match?.[1];
}
