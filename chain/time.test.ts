import { describe, expect, it } from 'vitest';
import { checkCron } from './cron.ts';
import { readJsonPath } from './json-path.ts';
import { formatDate, isValidTimeZone, toEpochMs, zonedDateTimeToEpochMs } from './time.ts';

describe('zoned date-times', () => {
  it.each([
    ['2025-03-01T09:00', 'Europe/Moscow', '2025-03-01T06:00:00.000Z'],
    ['2025-03-01 09:00:30', 'UTC', '2025-03-01T09:00:30.000Z'],
    ['2025-07-01T09:00', 'America/New_York', '2025-07-01T13:00:00.000Z'],
    ['2025-01-01T09:00', 'America/New_York', '2025-01-01T14:00:00.000Z'],
    ['2025-03-09T02:30', 'America/New_York', '2025-03-09T07:30:00.000Z'], // in the DST gap: moved forward
    ['2025-11-02T01:30', 'America/New_York', '2025-11-02T05:30:00.000Z'], // in the overlap: the earlier
    ['2025-10-26T02:30', 'Europe/Berlin', '2025-10-26T00:30:00.000Z'], // overlap east of UTC: the earlier
    ['2025-03-30T02:30', 'Europe/Berlin', '2025-03-30T01:30:00.000Z'], // gap east of UTC: forward
    ['2025-03-01T09:00+05:30', 'Europe/Moscow', '2025-03-01T03:30:00.000Z'], // explicit offset wins
    ['2025-03-01T09:00Z', 'Asia/Tokyo', '2025-03-01T09:00:00.000Z'],
    ['2025-03-01', 'Asia/Tokyo', '2025-02-28T15:00:00.000Z'],
  ])('reads %j in %s as %s', (text, zone, iso) => {
    expect(new Date(zonedDateTimeToEpochMs(text, zone) ?? Number.NaN).toISOString()).toBe(iso);
  });

  it.each(['2025-02-30T10:00', '2025-13-01', '2025-01-01T24:00', 'tomorrow', '01.02.2025'])('rejects %j', (text) => {
    expect(zonedDateTimeToEpochMs(text, 'UTC')).toBeUndefined();
  });

  it.each<[unknown, number | undefined]>([
    [1735725600, 1735725600000],
    ['1735725600', 1735725600000],
    [1735725600000, 1735725600000],
    [true, undefined],
    ['soon', undefined],
  ])('interprets %j as epoch %s', (value, expected) => {
    expect(toEpochMs(value)).toBe(expected);
  });

  it('formats with a 12-hour clock and literal text', () => {
    expect(formatDate(Date.UTC(2025, 0, 31, 0, 7, 9), 'hh:mm:ss a [UTC] YY/M/D', 'UTC')).toBe('12:07:09 am UTC 25/1/31');
  });

  it.each([
    ['Europe/Moscow', true],
    ['UTC', true],
    ['Mars/Olympus', false],
    ['', false],
  ])('knows whether %j is a time zone (%s)', (zone, valid) => {
    expect(isValidTimeZone(zone)).toBe(valid);
  });
});

describe('cron expressions', () => {
  it.each(['0 9 * * 1-5', '*/15 * * * *', '0 0 1 JAN,JUL *', '30 18 * * MON-FRI', '0 12 * * 0,7', '@daily', '5,35 8-20/2 * * *'])('accepts %j', (cron) => {
    expect(checkCron(cron)).toBeUndefined();
  });

  it.each([
    ['0 9 * *', /4 field/],
    ['61 * * * *', /minute '61' must be 0–59/],
    ['0 25 * * *', /hour '25'/],
    ['0 0 0 * *', /day of month '0'/],
    ['0 0 * FOO *', /month 'FOO'/],
    ['0 0 * * 1-', /not a valid cron item/],
    ['*/0 * * * *', /step '0'/],
    ['0 0 * * 5-1', /goes backwards/],
  ])('rejects %j', (cron, message) => {
    expect(checkCron(cron)).toMatch(message);
  });
});

describe('JSON paths', () => {
  const body = { data: { id: 7, items: [{ name: 'a' }, { name: 'b' }], 'odd key': true } };
  it.each([
    ['$', body],
    ['$.data.id', 7],
    ['$.data.items[1].name', 'b'],
    ["$.data['odd key']", true],
    ['$["data"].items[0]', { name: 'a' }],
    ['$.data.missing', undefined],
    ['$.data.items[5]', undefined],
    ['data.id', undefined],
    ['$.data..id', undefined],
  ])('reads %j', (path, expected) => {
    expect(readJsonPath(body, path)).toEqual(expected);
  });
});
