// `npm run audit`: npm audit of the production dependencies. High and critical
// advisories fail it unless audit-allowlist.json lists them with a reason and an expiry
// date; an expired or malformed entry fails it too. Plain JavaScript, like toolchain.mjs.
//
//   node bin/audit.mjs                 → exit 0 clean, 1 advisories or a bad allow-list,
//                                        2 when the audit endpoint could not be asked
//   node bin/audit.mjs --offline-ok    → the same, but an unreachable endpoint only warns
//                                        (.ci/run: see docs/security.md › Dependency audit)
//   --allowlist FILE                   → another allow-list than audit-allowlist.json
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const ALLOWLIST_FILE = join(ROOT, 'audit-allowlist.json');
/** Severities that fail the audit. */
export const FAILING = ['high', 'critical'];

/**
 * Checks the allow-list: every entry needs an `id` (GHSA id or advisory URL), a
 * `reason` and an `expires` date (YYYY-MM-DD); an entry whose date has passed is an error.
 */
export function checkAllowlist(list, today = new Date()) {
  const errors = [];
  const entries = [];
  const raw = list && typeof list === 'object' && Array.isArray(list.entries) ? list.entries : null;
  if (!raw) return { entries, errors: ['audit-allowlist.json must be an object with an "entries" list'] };
  const day = today.toISOString().slice(0, 10);
  raw.forEach((e, i) => {
    const where = `audit-allowlist.json entries[${i}]${e && typeof e.id === 'string' ? ` (${e.id})` : ''}`;
    if (!e || typeof e !== 'object') return errors.push(`${where}: must be an object`);
    if (typeof e.id !== 'string' || e.id.trim() === '') return errors.push(`${where}: "id" is required (the GHSA id or advisory URL)`);
    if (typeof e.reason !== 'string' || e.reason.trim().length < 10) return errors.push(`${where}: "reason" is required (why it is safe to ship for now)`);
    if (typeof e.expires !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(e.expires) || Number.isNaN(Date.parse(e.expires))) {
      return errors.push(`${where}: "expires" must be a date YYYY-MM-DD`);
    }
    if (e.expires < day) return errors.push(`${where}: expired on ${e.expires}; fix the dependency or renew the entry with a new reason`);
    entries.push(e);
  });
  return { entries, errors };
}

/** The advisory's ids: its GHSA id (from the URL), the URL, and npm's numeric source. */
function advisoryIds(via) {
  const ids = [];
  if (typeof via.url === 'string') {
    ids.push(via.url);
    const ghsa = /GHSA-[\w-]+/i.exec(via.url);
    if (ghsa) ids.push(ghsa[0]);
  }
  if (via.source !== undefined) ids.push(String(via.source));
  return ids;
}

/**
 * Reads an `npm audit --json` report (npm 7+). Returns `{ reachable: false, reason }`
 * when it is an error instead of a report; otherwise the failing advisories not allowed,
 * the allowed ones, and allow-list entries that matched nothing.
 */
export function evaluateReport(report, allowed) {
  if (!report || typeof report !== 'object' || !report.vulnerabilities || !report.metadata) {
    const reason = report && typeof report === 'object' ? String(report.message ?? report.error?.summary ?? report.error?.code ?? 'no report') : 'no JSON report';
    return { reachable: false, reason };
  }
  const failing = [];
  const accepted = [];
  const used = new Set();
  const seen = new Set();
  for (const vuln of Object.values(report.vulnerabilities)) {
    for (const via of vuln.via ?? []) {
      if (typeof via !== 'object' || !FAILING.includes(via.severity)) continue;
      const ids = advisoryIds(via);
      const key = `${via.name}:${ids[0] ?? via.title}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const entry = allowed.find((e) => ids.includes(e.id));
      const item = { package: via.name, severity: via.severity, title: via.title, url: via.url, range: via.range };
      if (entry) {
        used.add(entry.id);
        accepted.push({ ...item, reason: entry.reason, expires: entry.expires });
      } else failing.push(item);
    }
  }
  return { reachable: true, failing, accepted, unused: allowed.filter((e) => !used.has(e.id)) };
}

function main(argv) {
  const offlineOk = argv.includes('--offline-ok');
  const at = argv.indexOf('--allowlist');
  const file = at >= 0 && argv[at + 1] ? resolve(argv[at + 1]) : ALLOWLIST_FILE;
  let list;
  try {
    list = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    console.error(`audit: cannot read ${file}: ${err.message}`);
    return 1;
  }
  const allow = checkAllowlist(list);
  for (const e of allow.errors) console.error(`audit: ${e}`);
  const npm = spawnSync('npm', ['audit', '--omit=dev', '--json'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });
  let report;
  try {
    report = JSON.parse(npm.stdout);
  } catch {
    report = undefined;
  }
  const result = npm.error ? { reachable: false, reason: npm.error.message } : evaluateReport(report, allow.entries);
  if (!result.reachable) {
    console.error(`audit: the npm registry's audit endpoint could not be asked (${result.reason}); no advisories were checked.`);
    if (offlineOk) {
      console.error('audit: --offline-ok: not failing for an unreachable endpoint (the allow-list was still checked). Run `npm run audit` where the registry answers.');
      return allow.errors.length > 0 ? 1 : 0;
    }
    console.error('audit: failing; pass --offline-ok only where the endpoint is known to be out of reach (docs/security.md).');
    return 2;
  }
  for (const a of result.accepted) console.log(`audit: allowed until ${a.expires}: ${a.severity} ${a.package} — ${a.title} (${a.url}); ${a.reason}`);
  for (const e of result.unused) console.log(`audit: allow-list entry ${e.id} matches no advisory any more; remove it`);
  for (const f of result.failing) console.error(`audit: ${f.severity}: ${f.package} ${f.range ?? ''} — ${f.title} (${f.url})`);
  if (result.failing.length > 0) {
    console.error(`audit: ${result.failing.length} high/critical advisor${result.failing.length === 1 ? 'y' : 'ies'} in production dependencies; update them, or list them in audit-allowlist.json with a reason and an expiry date.`);
  }
  const total = report.metadata?.vulnerabilities?.total ?? 0;
  if (result.failing.length === 0 && allow.errors.length === 0) console.log(`audit: ok (${total} advisories in production dependencies, none high/critical outside the allow-list)`);
  return result.failing.length > 0 || allow.errors.length > 0 ? 1 : 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) process.exitCode = main(process.argv.slice(2));
