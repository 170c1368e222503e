// When a delay node wakes up. zod-free: it runs in the workflow sandbox.
import { parseDuration } from './duration.ts';
import type { ReadableScope } from './scope.ts';
import { renderTemplate } from './template.ts';
import { isValidTimeZone, zonedDateTimeToEpochMs } from './time.ts';
import type { DelayConfig } from './nodes/delay.ts';

/**
 * How long to wait from `nowMs` (the workflow's clock). Zero when an 'until' time has
 * passed; an error when the rendered time or zone is unusable.
 */
export function resolveDelay(config: DelayConfig, nowMs: number, scope: ReadableScope): { ok: true; ms: number } | { ok: false; message: string } {
  if (config.mode === 'duration') return { ok: true, ms: parseDuration(config.duration) };
  const zone = renderTemplate(config.timezone, scope).trim();
  if (!isValidTimeZone(zone)) return { ok: false, message: `unknown time zone '${zone}'` };
  const at = renderTemplate(config.at, scope).trim();
  const epoch = zonedDateTimeToEpochMs(at, zone);
  if (epoch === undefined) return { ok: false, message: `'${at}' is not a date-time like 2025-12-31T09:00` };
  return { ok: true, ms: Math.max(0, epoch - nowMs) };
}

