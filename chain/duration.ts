// Durations as editors type them: '30s', '15m', '3d', '2w', '1h30m', '1.5h', '2 days',
// or ISO 8601 ('P3D', 'PT1H30M', 'P1W'). Months and years are refused on purpose:
// they have no fixed length; a delay "until" a date expresses them exactly.

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;

/** The longest accepted duration (10 × 365 days); Temporal timers go further, people rarely mean to. */
export const MAX_DURATION_MS = 3650 * DAY;

const UNITS: Record<string, number> = {
  ms: 1,
  millisecond: 1,
  milliseconds: 1,
  s: SECOND,
  sec: SECOND,
  secs: SECOND,
  second: SECOND,
  seconds: SECOND,
  m: MINUTE,
  min: MINUTE,
  mins: MINUTE,
  minute: MINUTE,
  minutes: MINUTE,
  h: HOUR,
  hr: HOUR,
  hrs: HOUR,
  hour: HOUR,
  hours: HOUR,
  d: DAY,
  day: DAY,
  days: DAY,
  w: WEEK,
  wk: WEEK,
  week: WEEK,
  weeks: WEEK,
};

const CALENDAR_UNITS = new Set(['mo', 'month', 'months', 'y', 'yr', 'year', 'years']);

const HUMAN_PART = /(\d+(?:\.\d+)?)\s*([a-z]+)/gy;
const ISO = /^P(?:(\d+(?:[.,]\d+)?)Y)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)W)?(?:(\d+(?:[.,]\d+)?)D)?(?:T(?:(\d+(?:[.,]\d+)?)H)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)S)?)?$/;

/** Result of {@link checkDuration}. */
export type DurationCheck = { ok: true; ms: number } | { ok: false; message: string };

/** Thrown by {@link parseDuration}; the message says what was wrong and what is accepted. */
export class DurationError extends Error {
  override name = 'DurationError';
}

const ACCEPTED = "use a number with a unit (ms, s, m, h, d, w), e.g. '30s', '15m', '1h30m', '3d', '2w', or ISO 8601 like 'PT1H30M' or 'P3D'";

function finish(text: string, ms: number): DurationCheck {
  if (!(ms > 0)) return { ok: false, message: `Duration '${text}' must be longer than zero` };
  if (ms > MAX_DURATION_MS) {
    return { ok: false, message: `Duration '${text}' is longer than 3650 days; use a delay until a date instead` };
  }
  return { ok: true, ms: Math.round(ms) };
}

function checkIso(text: string): DurationCheck {
  const match = ISO.exec(text.toUpperCase());
  if (!match || text.length === 1 || /T$/i.test(text)) {
    return { ok: false, message: `Duration '${text}' is not valid ISO 8601; ${ACCEPTED}` };
  }
  const [, years, months, weeks, days, hours, minutes, seconds] = match;
  if (years !== undefined || months !== undefined) {
    return {
      ok: false,
      message: `Duration '${text}' uses years or months, which have no fixed length; use days or weeks, or a delay until a date`,
    };
  }
  const num = (part: string | undefined): number => (part === undefined ? 0 : Number(part.replace(',', '.')));
  return finish(text, num(weeks) * WEEK + num(days) * DAY + num(hours) * HOUR + num(minutes) * MINUTE + num(seconds) * SECOND);
}

/**
 * Parses a duration without throwing.
 *
 * @example checkDuration('1h30m') // { ok: true, ms: 5400000 }
 * @example checkDuration('soon')  // { ok: false, message: "Duration 'soon' …" }
 */
export function checkDuration(input: string): DurationCheck {
  const text = input.trim();
  if (text === '') return { ok: false, message: `Duration is empty; ${ACCEPTED}` };
  if (/^P/i.test(text)) return checkIso(text);

  const lower = text.toLowerCase();
  let total = 0;
  let position = 0;
  HUMAN_PART.lastIndex = 0;
  while (position < lower.length) {
    while (lower[position] === ' ') position++;
    if (position >= lower.length) break;
    HUMAN_PART.lastIndex = position;
    const match = HUMAN_PART.exec(lower);
    if (!match) {
      if (/^\d+(\.\d+)?$/.test(lower.slice(position))) {
        return { ok: false, message: `Duration '${text}' has no unit; ${ACCEPTED}` };
      }
      return { ok: false, message: `Duration '${text}' is not understood; ${ACCEPTED}` };
    }
    const [, amount = '0', unit = ''] = match;
    if (CALENDAR_UNITS.has(unit)) {
      return {
        ok: false,
        message: `Duration '${text}' uses months or years, which have no fixed length; use days or weeks, or a delay until a date`,
      };
    }
    const factor = UNITS[unit];
    if (factor === undefined) return { ok: false, message: `Duration '${text}' has an unknown unit '${unit}'; ${ACCEPTED}` };
    total += Number(amount) * factor;
    position = HUMAN_PART.lastIndex;
  }
  return finish(text, total);
}

/**
 * Parses a duration into milliseconds.
 *
 * @throws {DurationError} with a message naming the input and the accepted forms.
 * @example parseDuration('3d') // 259200000
 */
export function parseDuration(input: string): number {
  const result = checkDuration(input);
  if (!result.ok) throw new DurationError(result.message);
  return result.ms;
}

/** Formats milliseconds compactly for display: 5400000 → '1h30m'. */
export function formatDuration(ms: number): string {
  if (!(ms > 0)) return '0s';
  const parts: string[] = [];
  let rest = Math.round(ms);
  for (const [unit, size] of [['w', WEEK], ['d', DAY], ['h', HOUR], ['m', MINUTE], ['s', SECOND]] as const) {
    const count = Math.floor(rest / size);
    if (count > 0) parts.push(`${count}${unit}`);
    rest -= count * size;
  }
  if (rest > 0) parts.push(`${rest}ms`);
  return parts.join('');
}
