import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/** Kinds of credential; the value is always one encrypted string, the rest lives in meta. */
export const credentialKinds = ['openai', 'bearer', 'basic', 'header', 'secret'] as const;
export type CredentialKind = (typeof credentialKinds)[number];

/**
 * A credential's name doubles as `secrets.NAME` in templates, so it follows the rules of
 * a variable name: a letter or '_' first, then letters, digits and '_' (no dashes).
 */
export const CREDENTIAL_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,99}$/;

/**
 * Non-secret settings per kind:
 * - `openai`: `baseUrl` (OpenAI-compatible API root, default https://api.openai.com/v1),
 *   `organization`, `project`, `stream` (use streaming completions); the value is the API key.
 * - `bearer`: the value is the token (`Authorization: Bearer <value>`).
 * - `basic`: `username`; the value is the password (`Authorization: Basic …`).
 * - `header`: `header` (the header's name, e.g. `X-Api-Key`); the value is its value.
 * - `secret`: a plain value for `{{ secrets.NAME }}`.
 */
export interface CredentialMeta {
  baseUrl?: string;
  organization?: string;
  project?: string;
  stream?: boolean;
  username?: string;
  header?: string;
  [key: string]: string | number | boolean | null | undefined;
}

/**
 * A secret the chains use without seeing it: an API key, token, password or header
 * value. The value is stored encrypted (lib/secret-box.ts, associated data
 * `credential:<id>`, see {@link credentialContext}) and decrypted only inside activities.
 */
export const CredentialSchema = defineEntity({
  name: 'Credential',
  tableName: 'credential',
  properties: {
    id: p.uuid().primary(),
    /** Unique; `{{ secrets.NAME }}` in templates, or a credential reference in node configs. */
    name: p.string().length(100).unique(),
    kind: p.enum(credentialKinds),
    /** `v1:<keyId>:<iv>:<tag>:<ciphertext>` from the secret box. */
    encryptedValue: p.text(),
    meta: p.json<CredentialMeta>(),
    ownerId: p.uuid().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  },
});
export type Credential = InferEntity<typeof CredentialSchema>;

/** Associated data that binds an encrypted value to its credential row. */
export function credentialContext(id: string): string {
  return `credential:${id}`;
}
