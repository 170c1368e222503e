// `npm run audit` (bin/audit.mjs): high/critical advisories of production dependencies
// fail it unless allow-listed with a reason and an unexpired date; an endpoint that
// cannot be asked fails it, or only warns with --offline-ok.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkAllowlist, evaluateReport } from '../../bin/audit.mjs';

const today = new Date('2026-12-01T12:00:00Z');

/** A report in the shape `npm audit --json` (npm 7+) prints. */
const report = {
  auditReportVersion: 2,
  vulnerabilities: {
    'tar-stream': {
      name: 'tar-stream',
      severity: 'high',
      via: [{ source: 1101234, name: 'tar-stream', title: 'Path traversal', url: 'https://github.com/advisories/GHSA-aaaa-bbbb-cccc', severity: 'high', range: '<3.1.7' }],
      effects: ['archiver'],
    },
    archiver: { name: 'archiver', severity: 'high', via: ['tar-stream'], effects: [] },
    semver: {
      name: 'semver',
      severity: 'critical',
      via: [{ source: 1105678, name: 'semver', title: 'ReDoS', url: 'https://github.com/advisories/GHSA-dddd-eeee-ffff', severity: 'critical', range: '<7.5.2' }],
    },
    debug: { name: 'debug', severity: 'moderate', via: [{ source: 1, name: 'debug', title: 'Slow regex', url: 'https://github.com/advisories/GHSA-1111-2222-3333', severity: 'moderate' }] },
  },
  metadata: { vulnerabilities: { info: 0, low: 0, moderate: 1, high: 2, critical: 1, total: 4 } },
};

describe('npm run audit', () => {
  it('needs a reason and an unexpired date on every allow-list entry', () => {
    const checked = checkAllowlist(
      {
        entries: [
          { id: 'GHSA-aaaa-bbbb-cccc', reason: 'only reached through the backup CLI, which never reads foreign archives', expires: '2027-01-31' },
          { id: 'GHSA-old', reason: 'was fine last year, supposedly', expires: '2026-11-30' },
          { id: 'GHSA-noreason', expires: '2027-01-01' },
          { id: 'GHSA-nodate', reason: 'a reason without a date' },
        ],
      },
      today,
    );
    expect(checked.entries.map((e) => e.id)).toEqual(['GHSA-aaaa-bbbb-cccc']);
    expect(checked.errors).toEqual([
      expect.stringMatching(/GHSA-old.*expired on 2026-11-30/),
      expect.stringMatching(/GHSA-noreason.*"reason" is required/),
      expect.stringMatching(/GHSA-nodate.*"expires" must be a date/),
    ]);
    expect(checkAllowlist([], today).errors[0]).toMatch(/"entries" list/);
  });

  it('fails high and critical advisories that the allow-list does not name, once each', () => {
    const { entries } = checkAllowlist({ entries: [{ id: 'GHSA-aaaa-bbbb-cccc', reason: 'not reachable from any route', expires: '2027-01-31' }, { id: 'GHSA-gone', reason: 'fixed upstream already', expires: '2027-01-31' }] }, today);
    const result = evaluateReport(report, entries);
    if (!result.reachable) throw new Error('expected a report');
    expect(result.failing.map((f) => `${f.severity} ${f.package}`)).toEqual(['critical semver']);
    expect(result.accepted.map((a) => a.package)).toEqual(['tar-stream']);
    expect(result.unused.map((e) => e.id)).toEqual(['GHSA-gone']);
    expect(evaluateReport({ message: '405 Method Not Allowed', statusCode: 405 }, [])).toEqual({ reachable: false, reason: '405 Method Not Allowed' });
  });

  it('says clearly when the audit endpoint cannot be asked, and fails unless --offline-ok', () => {
    const dir = mkdtempSync(join(tmpdir(), 'chainflow-audit-'));
    const allowlist = join(dir, 'allow.json');
    writeFileSync(allowlist, JSON.stringify({ entries: [] }));
    // A registry on a loopback port nobody listens on: the endpoint is out of reach.
    const env = { ...process.env, npm_config_registry: 'http://127.0.0.1:9/', npm_config_fetch_retries: '0', npm_config_offline: 'false' };
    const run = (...args: string[]) => spawnSync(process.execPath, ['bin/audit.mjs', '--allowlist', allowlist, ...args], { encoding: 'utf8', env, timeout: 60_000 });
    const strict = run();
    expect(strict.status).toBe(2);
    expect(strict.stderr).toMatch(/audit endpoint could not be asked/);
    expect(strict.stderr).toMatch(/no advisories were checked/);
    const tolerant = run('--offline-ok');
    expect(tolerant.status).toBe(0);
    expect(tolerant.stderr).toMatch(/--offline-ok: not failing/);
    // An expired entry fails even when the endpoint is out of reach.
    writeFileSync(allowlist, JSON.stringify({ entries: [{ id: 'GHSA-x', reason: 'was temporary, as they all are', expires: '2020-01-01' }] }));
    const expired = run('--offline-ok');
    expect(expired.status).toBe(1);
    expect(expired.stderr).toMatch(/GHSA-x.*expired on 2020-01-01/);
  }, 120_000);
});
