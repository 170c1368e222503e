// Validation of 5-field cron expressions (minute hour day-of-month month day-of-week),
// the form Temporal Schedules accept, plus the usual @aliases.

const ALIASES = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

const FIELDS: Array<{ name: string; min: number; max: number; names?: string[]; base?: number }> = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS, base: 1 },
  { name: 'day of week', min: 0, max: 7, names: DAYS, base: 0 },
];

function value(text: string, spec: (typeof FIELDS)[number]): number | undefined {
  const named = spec.names?.indexOf(text.toUpperCase()) ?? -1;
  if (named >= 0) return named + (spec.base ?? 0);
  if (!/^\d{1,2}$/.test(text)) return undefined;
  const number = Number(text);
  return number >= spec.min && number <= spec.max ? number : undefined;
}

/**
 * Checks a cron expression. Returns undefined when valid, else a message naming the field.
 *
 * @example checkCron('0 9 * * MON-FRI') // undefined
 * @example checkCron('61 * * * *')      // "minute '61' must be 0–59"
 */
export function checkCron(expression: string): string | undefined {
  const text = expression.trim();
  if (ALIASES.has(text.toLowerCase())) return undefined;
  const parts = text.split(/\s+/);
  if (parts.length !== 5) {
    return `cron '${text}' has ${parts.length} field(s); write 5: minute hour day-of-month month day-of-week (e.g. '0 9 * * 1-5'), or @daily, @hourly…`;
  }
  for (const [index, part] of parts.entries()) {
    const spec = FIELDS[index];
    if (!spec) continue;
    for (const item of part.split(',')) {
      const match = /^(\*|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)(?:\/(\d{1,2}))?$/.exec(item);
      if (!match) return `${spec.name} '${item}' is not a valid cron item`;
      const [, range = '', step] = match;
      if (step !== undefined && Number(step) < 1) return `${spec.name} step '${step}' must be at least 1`;
      if (range === '*') continue;
      const [from = '', to] = range.split('-');
      const start = value(from, spec);
      const end = to === undefined ? start : value(to, spec);
      if (start === undefined || end === undefined) {
        const bad = start === undefined ? from : (to ?? '');
        return `${spec.name} '${bad}' must be ${spec.min}–${spec.max}${spec.names ? ` or a name like ${spec.names[1]}` : ''}`;
      }
      if (end < start) return `${spec.name} range '${range}' goes backwards`;
    }
  }
  return undefined;
}
