import { z } from 'zod';
import { dateTime, listOf, storable } from './common.ts';

const localized = z.object({ en: z.string(), ru: z.string() });
const permissionSet = z.object({
  network: z.array(z.string()).meta({ description: 'Hosts `ctx.fetch` may reach (names, `*.suffix`, `settings:<key>`)' }),
  credentials: z.array(z.string()).meta({ description: 'Credential names `ctx.credential(name)` may read' }),
});

export const pluginIdParamsSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, { message: "A plugin id: lowercase letters, digits, '-' or '_' (as GET /plugins lists them)" }).meta({ description: 'Plugin id (its folder name)' }),
});

export const pluginSchema = z
  .object({
    id: z.string(),
    version: z.string().nullable().meta({ description: 'Of the loaded version (null when it does not load)' }),
    title: localized.nullable(),
    description: localized.nullable(),
    author: z.string().nullable(),
    chainflow: z.string().nullable().meta({ description: 'The Chainflow versions it declares to need' }),
    bundled: z.boolean().meta({ description: "In the repository's plugins/ folder: approved with what it declares when first seen" }),
    status: z.enum(['loaded', 'failed', 'crashed', 'disabled', 'needs_approval', 'missing']).meta({
      description: 'loaded: runs; failed: does not load; crashed: its thread was stopped (restarted at the next call); disabled: switched off or never approved; needs_approval: declares permissions not approved; missing: its folder is gone',
    }),
    enabled: z.boolean().meta({ description: "The admin's switch (it runs only when also every declared permission is approved)" }),
    declaredPermissions: permissionSet.nullable().meta({ description: 'What the loaded version declares' }),
    approvedPermissions: permissionSet.nullable().meta({ description: 'Exactly what an admin approved (null: never)' }),
    unapprovedPermissions: permissionSet.meta({ description: 'Declared but not approved: to approve before it runs' }),
    approvedVersion: z.string().nullable(),
    approvedAt: dateTime.nullable(),
    lastErrors: z.array(z.object({ at: dateTime, message: z.string(), process: z.string() })).meta({ description: 'Load errors, crashes and timeouts, newest first (every process)' }),
    nodeTypes: z.array(z.object({ type: z.string(), label: localized })),
    commands: z.array(z.object({ name: z.string(), description: localized })),
    hooks: z.object({ beforeMessage: z.boolean(), afterMessage: z.boolean(), memberJoined: z.boolean() }),
    hasSettings: z.boolean(),
    reloads: z.number().int().meta({ description: 'Reloads of it in this API process' }),
    createdAt: dateTime.nullable().meta({ description: 'When it was first seen' }),
    updatedAt: dateTime.nullable(),
  })
  .meta({ id: 'Plugin' });

export const pluginListSchema = listOf(pluginSchema, 'PluginList');

export const approvePluginBodySchema = z.strictObject({
  permissions: permissionSet.meta({ description: 'The permissions being approved: exactly what the plugin declares now (as GET shows them)' }),
  enable: z.boolean().default(false).meta({ description: 'Also enable it' }),
});

export const pluginSettingsSchema = z
  .object({
    schema: z.record(z.string(), z.unknown()).meta({ description: "JSON Schema of the plugin's settings (labels, help and `secret` per field)" }),
    values: z.record(z.string(), z.unknown()).meta({ description: 'Current values with defaults, secret ones left out' }),
    secretKeys: z.array(z.string()).meta({ description: 'Settings marked secret: write-only' }),
    secretsSet: z.array(z.string()).meta({ description: 'Secret settings that have a value' }),
  })
  .meta({ id: 'PluginSettings' });

export const putPluginSettingsBodySchema = z.strictObject({
  values: storable(z.record(z.string(), z.json())).meta({
    description: 'Replaces the settings (absent ones take their defaults). Secret settings: absent keeps the stored value, null clears it, a string sets it',
  }),
});
