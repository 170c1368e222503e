import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { AuditEntrySchema, type AuditEntry } from '../../db/accounts.ts';
import { authorize } from '../policy.ts';
import { escapeLike } from '../schemas/common.ts';
import { auditExportQuerySchema, auditListSchema, auditQuerySchema, type AuditFilter } from '../schemas/audit.ts';
import { defineOperation, type Operation } from './define.ts';

/** At most this many rows in one CSV export (narrow the filters for more). */
export const AUDIT_EXPORT_LIMIT = 10_000;

function whereOf(filter: AuditFilter): Record<string, unknown> {
  const where: Record<string, unknown> = {};
  if (filter.actorId) where.actorId = filter.actorId;
  if (filter.actorEmail) where.actorEmail = { $ilike: `%${escapeLike(filter.actorEmail)}%` };
  if (filter.action) where.action = filter.action.endsWith('*') ? { $like: `${escapeLike(filter.action.slice(0, -1))}%` } : filter.action;
  if (filter.targetType) where.targetType = filter.targetType;
  if (filter.targetId) where.targetId = filter.targetId;
  if (filter.from || filter.to) where.at = { ...(filter.from ? { $gte: new Date(filter.from) } : {}), ...(filter.to ? { $lt: new Date(filter.to) } : {}) };
  return where;
}

const entryView = (e: AuditEntry) => ({
  id: String(e.id),
  at: e.at,
  actorId: e.actorId ?? null,
  actorEmail: e.actorEmail ?? null,
  action: e.action,
  targetType: e.targetType ?? null,
  targetId: e.targetId ?? null,
  summary: e.summary,
  ip: e.ip ?? null,
});

async function findEntries(em: EntityManager, filter: AuditFilter, offset: number, limit: number) {
  return em.findAndCount(AuditEntrySchema, whereOf(filter), { orderBy: { id: 'desc' }, offset, limit });
}

/** A CSV cell: quoted when needed; a leading = + - @ is neutralised so spreadsheets do not run it as a formula. */
export function csvCell(value: unknown): string {
  let text = value === null || value === undefined ? '' : value instanceof Date ? value.toISOString() : typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

const CSV_COLUMNS = ['id', 'at', 'actorId', 'actorEmail', 'action', 'targetType', 'targetId', 'ip', 'summary'] as const;

/** `/audit`: the audit log (admins). */
export function auditOperations(): Operation[] {
  return [
    defineOperation({
      method: 'get',
      path: '/audit',
      operationId: 'listAudit',
      summary: 'Audit log: every change and sign-in, newest first',
      tags: ['audit'],
      auth: 'bearer',
      query: auditQuerySchema,
      responses: { 200: { description: 'A page of entries', schema: auditListSchema } },
      handler: async ({ res, em, query, principal }) => {
        authorize(principal, 'audit:read');
        const [entries, total] = await findEntries(em, query, query.offset, query.limit);
        res.json({ items: entries.map(entryView), total });
      },
    }),
    defineOperation({
      method: 'get',
      path: '/audit/export',
      operationId: 'exportAudit',
      summary: `Audit log as CSV (same filters, newest first, at most ${AUDIT_EXPORT_LIMIT} rows)`,
      tags: ['audit'],
      auth: 'bearer',
      query: auditExportQuerySchema,
      responses: { 200: { description: 'CSV with a header row; summary as JSON', content: { 'text/csv': z.string() } } },
      handler: async ({ res, em, query, principal, audit }) => {
        authorize(principal, 'audit:read');
        const [entries] = await findEntries(em, query, 0, AUDIT_EXPORT_LIMIT);
        const lines = [CSV_COLUMNS.join(',')];
        for (const entry of entries) {
          const view = entryView(entry);
          lines.push(CSV_COLUMNS.map((column) => csvCell(view[column])).join(','));
        }
        // Reading the whole log is itself worth recording.
        audit({ action: 'audit.export', targetType: 'audit', targetId: null, summary: { filters: query, rows: entries.length } });
        await em.flush();
        res.attachment('chainflow-audit.csv').type('text/csv; charset=utf-8').send(`${lines.join('\r\n')}\r\n`);
      },
    }),
  ];
}
