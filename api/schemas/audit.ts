import { z } from 'zod';
import { dateTime, listOf, pagingShape } from './common.ts';

const filterShape = {
  actorId: z.uuid().optional().meta({ description: 'Who acted (user id)' }),
  actorEmail: z.string().max(254).optional().meta({ description: 'Who acted (or, for failed logins, the address tried); part of the e-mail' }),
  action: z
    .string()
    .regex(/^[a-z_]+(\.[a-z_]*)?\*?$/, "Use an action like 'chain.publish', or a prefix with '*' like 'auth.*'")
    .optional()
    .meta({ description: "Exact action, or a prefix ending in '*'" }),
  targetType: z.string().max(30).optional(),
  targetId: z.string().max(300).optional(),
  from: z.iso.datetime({ offset: true, message: 'Use an ISO 8601 date-time like 2026-01-31T00:00:00Z' }).optional().meta({ description: 'At or after (ISO 8601)' }),
  to: z.iso.datetime({ offset: true, message: 'Use an ISO 8601 date-time like 2026-01-31T00:00:00Z' }).optional().meta({ description: 'Before (ISO 8601)' }),
};

export const auditQuerySchema = z.strictObject({ ...filterShape, ...pagingShape });
export const auditExportQuerySchema = z.strictObject(filterShape);
export type AuditFilter = z.output<typeof auditExportQuerySchema>;

export const auditEntrySchema = z
  .object({
    id: z.string().meta({ description: 'Increasing sequence' }),
    at: dateTime,
    actorId: z.uuid().nullable(),
    actorEmail: z.string().nullable(),
    action: z.string(),
    targetType: z.string().nullable(),
    targetId: z.string().nullable(),
    summary: z.record(z.string(), z.unknown()).meta({ description: 'Before/after of the change, without secrets' }),
    ip: z.string().nullable(),
  })
  .meta({ id: 'AuditEntry' });

export const auditListSchema = listOf(auditEntrySchema, 'AuditList');
