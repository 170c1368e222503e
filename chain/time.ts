// Date handling without the host's local time zone: every conversion names its zone
// (UTC by default), so results are identical in a worker, the API and a browser.

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(key: string, locale: string, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  let cached = formatters.get(key);
  if (!cached) {
    cached = new Intl.DateTimeFormat(locale, options);
    formatters.set(key, cached);
  }
  return cached;
}

/** True when `Intl` knows the IANA time zone name (e.g. 'Europe/Moscow', 'UTC'). */
export function isValidTimeZone(timeZone: string): boolean {
  if (timeZone.trim() === '') return false;
  try {
    formatter(`tz:${timeZone}`, 'en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
}

function wallClock(epochMs: number, timeZone: string): WallClock {
  const parts = formatter(`wall:${timeZone}`, 'en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(new Date(epochMs));
  const get = (type: string): string => parts.find((part) => part.type === type)?.value ?? '0';
  return {
    year: Number(get('year')),
    month: Number(get('month')),
    day: Number(get('day')),
    hour: Number(get('hour')) % 24,
    minute: Number(get('minute')),
    second: Number(get('second')),
    millisecond: ((epochMs % 1000) + 1000) % 1000,
  };
}

/** Offset of `timeZone` from UTC at the instant `epochMs`, in milliseconds (Moscow: +3h). */
export function timeZoneOffsetMs(epochMs: number, timeZone: string): number {
  const wall = wallClock(epochMs, timeZone);
  const asUtc = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second, wall.millisecond);
  return asUtc - epochMs;
}

const ISO_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,3})\d*)?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/** A date-time string split into fields; `offsetMs` is present when the text names its zone. */
export interface DateTimeFields extends WallClock {
  offsetMs?: number;
}

/** Parses 'YYYY-MM-DD', 'YYYY-MM-DDTHH:mm[:ss[.SSS]]' with an optional 'Z' or '+03:00'. */
export function parseDateTime(text: string): DateTimeFields | undefined {
  const match = ISO_DATE_TIME.exec(text.trim());
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s, ms, zone] = match;
  const fields: DateTimeFields = {
    year: Number(y),
    month: Number(mo),
    day: Number(d),
    hour: Number(h ?? 0),
    minute: Number(mi ?? 0),
    second: Number(s ?? 0),
    millisecond: Number((ms ?? '0').padEnd(3, '0')),
  };
  const probe = new Date(Date.UTC(fields.year, fields.month - 1, fields.day, fields.hour, fields.minute, fields.second));
  if (
    fields.month < 1 ||
    fields.month > 12 ||
    probe.getUTCDate() !== fields.day ||
    fields.hour > 23 ||
    fields.minute > 59 ||
    fields.second > 59
  ) {
    return undefined;
  }
  if (zone !== undefined) {
    if (zone.toUpperCase() === 'Z') fields.offsetMs = 0;
    else {
      const sign = zone.startsWith('-') ? -1 : 1;
      const digits = zone.slice(1).replace(':', '');
      fields.offsetMs = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || 0)) * 60_000;
    }
  }
  return fields;
}

/**
 * Converts a date-time to epoch milliseconds. A text without an explicit offset is a
 * wall-clock time in `timeZone` (default UTC); in a DST gap it moves forward by the gap,
 * in a DST overlap it takes the earlier instant.
 *
 * @example zonedDateTimeToEpochMs('2025-03-01T09:00', 'Europe/Moscow') // 2025-03-01T06:00Z
 */
export function zonedDateTimeToEpochMs(text: string, timeZone = 'UTC'): number | undefined {
  const fields = parseDateTime(text);
  if (!fields) return undefined;
  const wallAsUtc = Date.UTC(
    fields.year,
    fields.month - 1,
    fields.day,
    fields.hour,
    fields.minute,
    fields.second,
    fields.millisecond,
  );
  if (fields.offsetMs !== undefined) return wallAsUtc - fields.offsetMs;
  // The offsets a day before and after cover any single transition. A candidate is
  // valid when the zone's offset at that instant is the one it assumed. Overlap (both
  // valid): the earlier. Gap (neither): the later, i.e. moved forward by the gap.
  const DAY = 86_400_000;
  const offsets = new Set([timeZoneOffsetMs(wallAsUtc - DAY, timeZone), timeZoneOffsetMs(wallAsUtc + DAY, timeZone)]);
  const candidates = [...offsets].map((offset) => ({ instant: wallAsUtc - offset, offset }));
  const valid = candidates.filter((candidate) => timeZoneOffsetMs(candidate.instant, timeZone) === candidate.offset);
  const instants = (valid.length > 0 ? valid : candidates).map((candidate) => candidate.instant);
  return valid.length > 0 ? Math.min(...instants) : Math.max(...instants);
}

/**
 * Interprets a variable value as an instant: numbers and numeric strings are epoch
 * seconds when below 1e11 (Telegram's `message.date`) and milliseconds otherwise;
 * strings are ISO date-times (wall-clock in `timeZone` when they carry no offset).
 */
export function toEpochMs(value: unknown, timeZone = 'UTC'): number | undefined {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return undefined;
    return Math.abs(value) < 1e11 ? value * 1000 : value;
  }
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (/^-?\d+(\.\d+)?$/.test(text)) return toEpochMs(Number(text), timeZone);
  return zonedDateTimeToEpochMs(text, timeZone);
}

function names(locale: string, timeZone: string, epochMs: number): { month: string; monthShort: string; weekday: string; weekdayShort: string } {
  const pick = (options: Intl.DateTimeFormatOptions, type: string): string =>
    formatter(`${locale}|${timeZone}|${JSON.stringify(options)}`, locale, { ...options, timeZone })
      .formatToParts(new Date(epochMs))
      .find((part) => part.type === type)?.value ?? '';
  return {
    month: pick({ day: 'numeric', month: 'long' }, 'month'),
    monthShort: pick({ day: 'numeric', month: 'short' }, 'month'),
    weekday: pick({ weekday: 'long' }, 'weekday'),
    weekdayShort: pick({ weekday: 'short' }, 'weekday'),
  };
}

const TOKENS = /\[([^\]]*)\]|YYYY|YY|MMMM|MMM|MM|M|DD|D|dddd|ddd|HH|H|hh|h|mm|m|ss|s|A|a|Z/g;

/**
 * Formats an instant with day.js-style tokens in a named time zone.
 * Tokens: YYYY YY MMMM MMM MM M DD D dddd ddd HH H hh h mm m ss s A a Z; text in
 * [brackets] is literal. Month and weekday names follow `locale` ('en', 'ru'…).
 *
 * @example formatDate(Date.UTC(2025, 0, 31, 9, 5), 'DD.MM.YYYY HH:mm', 'Europe/Moscow') // '31.01.2025 12:05'
 */
export function formatDate(epochMs: number, format = 'YYYY-MM-DD HH:mm', timeZone = 'UTC', locale = 'en'): string {
  const wall = wallClock(epochMs, timeZone);
  let named: ReturnType<typeof names> | undefined;
  const name = (): ReturnType<typeof names> => (named ??= names(locale, timeZone, epochMs));
  const pad = (n: number, width = 2): string => String(n).padStart(width, '0');
  const hour12 = wall.hour % 12 === 0 ? 12 : wall.hour % 12;
  return format.replace(TOKENS, (token, literal: string | undefined) => {
    if (literal !== undefined) return literal;
    switch (token) {
      case 'YYYY': return pad(wall.year, 4);
      case 'YY': return pad(wall.year % 100);
      case 'MMMM': return name().month;
      case 'MMM': return name().monthShort;
      case 'MM': return pad(wall.month);
      case 'M': return String(wall.month);
      case 'DD': return pad(wall.day);
      case 'D': return String(wall.day);
      case 'dddd': return name().weekday;
      case 'ddd': return name().weekdayShort;
      case 'HH': return pad(wall.hour);
      case 'H': return String(wall.hour);
      case 'hh': return pad(hour12);
      case 'h': return String(hour12);
      case 'mm': return pad(wall.minute);
      case 'm': return String(wall.minute);
      case 'ss': return pad(wall.second);
      case 's': return String(wall.second);
      case 'A': return wall.hour < 12 ? 'AM' : 'PM';
      case 'a': return wall.hour < 12 ? 'am' : 'pm';
      default: {
        const offset = Math.round(timeZoneOffsetMs(epochMs, timeZone) / 60_000);
        const sign = offset < 0 ? '-' : '+';
        return `${sign}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
      }
    }
  });
}
