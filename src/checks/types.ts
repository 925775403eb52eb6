/**
 * What every doctor check returns: data, never output. The command prints it (a mark per check, the fix
 * under each failure) or emits it as JSON.
 */
import type { Mark } from '../output/style.js';

/** pass / warn / fail / skip (with why) / info (a fact worth showing, neither good nor bad). */
export type CheckStatus = Mark;

export interface CheckResult {
  /** Stable identifier for machines, e.g. `connectivity.tcp`, `settings.service-name`. */
  id: string;
  /** What was checked, in a few words. */
  title: string;
  status: CheckStatus;
  /** What was found, or why the check was skipped. */
  detail?: string;
  /** One line: what to change. Set on every fail and warn. */
  fix?: string;
}

export type CheckGroupId = 'endpoint' | 'connectivity' | 'settings' | 'stack' | 'engine';

export interface CheckGroup {
  id: CheckGroupId;
  title: string;
  checks: CheckResult[];
}

export type CheckCounts = Record<CheckStatus, number>;

export function countChecks(groups: readonly CheckGroup[]): CheckCounts {
  const counts: CheckCounts = { pass: 0, warn: 0, fail: 0, skip: 0, info: 0 };
  for (const group of groups) for (const check of group.checks) counts[check.status] += 1;
  return counts;
}

export const pass = (id: string, title: string, detail?: string): CheckResult => ({ id, title, status: 'pass', ...(detail ? { detail } : {}) });
export const info = (id: string, title: string, detail?: string): CheckResult => ({ id, title, status: 'info', ...(detail ? { detail } : {}) });
export const skip = (id: string, title: string, why: string): CheckResult => ({ id, title, status: 'skip', detail: why });
export const warn = (id: string, title: string, detail: string, fix: string): CheckResult => ({ id, title, status: 'warn', detail, fix });
export const fail = (id: string, title: string, detail: string, fix: string): CheckResult => ({ id, title, status: 'fail', detail, fix });
