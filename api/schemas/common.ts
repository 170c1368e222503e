import { z } from 'zod';
import 'zod-openapi';
import { describeUnstorable, locateUnstorable } from '../../chain/index.ts';

/** Every error response: `{error, message, details}` (api/errors.ts). */
export const errorSchema = z
  .object({
    error: z.string().meta({ description: "Machine-readable code, e.g. 'validation_failed', 'chain_not_found'", example: 'validation_failed' }),
    message: z.string().meta({ description: 'What went wrong and how to fix it', example: 'body.email: Invalid email address' }),
    details: z.unknown().meta({ description: 'Per-field problems (validation), compile errors, or null' }),
  })
  .meta({ id: 'Error', description: 'A problem response' });

/** `{items, total}` of a list. */
export function listOf<T extends z.ZodType>(item: T, id: string) {
  return z
    .object({
      items: z.array(item),
      total: z.number().int().min(0).meta({ description: 'Matching items in all pages' }),
    })
    .meta({ id });
}

/** `?offset&limit` of lists. */
export const pagingShape = {
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0).meta({ description: 'Items to skip' }),
  limit: z.coerce.number().int().min(1).max(200).default(50).meta({ description: 'Page size (1–200)' }),
};

export const uuidSchema = z.uuid({ message: 'Use the id (a UUID) shown in the list' });

/** Escapes LIKE wildcards in a search text, so `%` and `_` match themselves. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** `/:id` of a resource addressed by UUID. */
export const idParamsSchema = z.strictObject({ id: uuidSchema.meta({ description: 'Id (UUID)' }) });

/** A date in a response (serialised by JSON.stringify as ISO 8601). */
export const dateTime = z.iso.datetime().meta({ description: 'ISO 8601 date-time' });
export const nullableDateTime = dateTime.nullable();

/**
 * Refuses text PostgreSQL cannot store (U+0000, lone UTF-16 surrogates): chain/storable.ts.
 * Use on every string and JSON field a stranger controls, before it reaches workflow
 * history: `storable(z.string().max(100))`, `storable(z.record(z.string(), z.unknown()))`.
 * The issue names the field (and, in JSON, the key path) and the fix.
 */
export function storable<T extends z.ZodType>(schema: T): T {
  return schema.superRefine((value, ctx) => {
    const found = locateUnstorable(value);
    if (!found) return;
    const codePoint = describeUnstorable(found.text) ?? 'U+0000';
    const where = found.path.length === 0 ? '' : ` (at ${JSON.stringify(found.path.map(String).join('.'))})`;
    ctx.addIssue({
      code: 'custom',
      message: `Contains ${codePoint}${where}, which cannot be stored; remove NUL characters and unpaired surrogates`,
      path: found.path,
    });
  }) as T;
}
