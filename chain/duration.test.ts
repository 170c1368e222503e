import { describe, expect, it } from 'vitest';
import { checkDuration, DurationError, formatDuration, parseDuration } from './duration.ts';

const s = 1000;
const m = 60 * s;
const h = 60 * m;
const d = 24 * h;

describe('duration parser', () => {
  it.each([
    ['30s', 30 * s],
    ['15m', 15 * m],
    ['3d', 3 * d],
    ['2w', 14 * d],
    ['500ms', 500],
    ['1h30m', 90 * m],
    ['1h 30m', 90 * m],
    ['1.5h', 90 * m],
    ['2 days', 2 * d],
    ['10 minutes', 10 * m],
    ['  45S ', 45 * s],
    ['P3D', 3 * d],
    ['PT1H30M', 90 * m],
    ['PT1H', h],
    ['pt15m', 15 * m],
    ['P1W', 7 * d],
    ['P1DT12H', 36 * h],
    ['PT0.5S', 500],
    ['PT1,5H', 90 * m],
  ])('reads %j as %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    ['', /empty/],
    ['soon', /not understood/],
    ['15', /no unit/],
    ['3 fortnights', /unknown unit 'fortnights'/],
    ['1mo', /months or years/],
    ['2 years', /months or years/],
    ['P1M', /years or months/],
    ['P1Y2D', /years or months/],
    ['P', /not valid ISO 8601/],
    ['PT', /not valid ISO 8601/],
    ['P1DT', /not valid ISO 8601/],
    ['0s', /longer than zero/],
    ['PT0S', /longer than zero/],
    ['4000d', /longer than 3650 days/],
    ['1h-30m', /not understood/],
  ])('rejects %j with a message matching %s', (text, message) => {
    const result = checkDuration(text);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toMatch(message);
  });

  it('throws a DurationError that quotes the input', () => {
    expect(() => parseDuration('tomorrow')).toThrowError(DurationError);
    expect(() => parseDuration('tomorrow')).toThrowError(/'tomorrow'/);
  });

  it.each([
    [90 * m, '1h30m'],
    [15 * d, '2w1d'],
    [1500, '1s500ms'],
    [0, '0s'],
  ])('formats %i ms as %j', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
