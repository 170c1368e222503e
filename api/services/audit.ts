import type { EntityManager } from '@mikro-orm/postgresql';
import { AuditEntrySchema } from '../../db/accounts.ts';

/** Who did it and from where. */
export interface AuditActor {
  id: string | null;
  email: string | null;
  ip: string | null;
}

export interface AuditInput {
  /** `noun.verb`, e.g. `chain.publish`, `auth.login_failed`. */
  action: string;
  targetType?: string | null;
  targetId?: string | null;
  summary?: Record<string, unknown>;
}

/** Keys whose values never reach the audit log, whatever object they sit in. */
const SECRET_KEY = /pass(word)?|token|secret|totp|code|hash|authorization|cookie|api_?key/i;

/** A deep copy without secret-looking keys (their values become '[redacted]'). */
export function redactSecrets(value: unknown, depth = 0): unknown {
  if (depth > 8) return '[…]';
  if (Array.isArray(value)) return value.slice(0, 100).map((v) => redactSecrets(v, depth + 1));
  if (value instanceof Date) return value.toISOString();
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) ? '[redacted]' : redactSecrets(v, depth + 1);
    return out;
  }
  if (typeof value === 'string' && value.length > 500) return `${value.slice(0, 500)}…`;
  return value;
}

/**
 * Adds an audit entry to the unit of work: it is written by the caller's next flush,
 * together with the change it describes (or not at all when that change fails).
 */
export function recordAudit(em: EntityManager, actor: AuditActor, input: AuditInput): void {
  em.create(AuditEntrySchema, {
    actorId: actor.id,
    actorEmail: actor.email,
    action: input.action,
    targetType: input.targetType ?? null,
    targetId: input.targetId ?? null,
    summary: (redactSecrets(input.summary ?? {}) as Record<string, unknown>) ?? {},
    ip: actor.ip,
  });
}
