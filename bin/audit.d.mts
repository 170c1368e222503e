export declare const ROOT: string;
export declare const ALLOWLIST_FILE: string;
export declare const FAILING: string[];
export interface AllowEntry {
  id: string;
  reason: string;
  expires: string;
  package?: string;
}
export declare function checkAllowlist(list: unknown, today?: Date): { entries: AllowEntry[]; errors: string[] };
export interface Advisory {
  package: string;
  severity: string;
  title: string;
  url: string;
  range?: string;
}
export declare function evaluateReport(
  report: unknown,
  allowed: AllowEntry[],
): { reachable: false; reason: string } | { reachable: true; failing: Advisory[]; accepted: (Advisory & { reason: string; expires: string })[]; unused: AllowEntry[] };
