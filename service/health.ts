/**
 * Readiness and its warnings (issue 24 rows 4, 5, 8 and 10): one pure evaluation of what this
 * process knows, shared by /readyz, the log and the console. Not ready when clients would fail
 * or nothing would be published: the database is down, a served role has expired, this process
 * cannot sign with the keys the root names, or nothing is served yet.
 */
import type { Store } from './store/index.js';

const DAY_MS = 86_400_000;
/** Issue 24 row 8: warn from 30 days before the root expires, loudly from 7. */
export const ROOT_WARN_DAYS = 30;
export const ROOT_LOUD_DAYS = 7;

export interface HealthWarning {
  /** 'warn', or 'error' for the loud ones. */
  level: 'warn' | 'error';
  code: string;
  message: string;
}

export interface HealthInput {
  now: Date;
  roles: readonly { role: string; version: number; expires: string }[];
  database: 'up' | 'down';
  /** Online roles whose key this process does not hold (Publisher.staleKeyRoles). */
  staleKeys: readonly string[];
  /** SQLite's quick_check at start ('ok' or what is damaged); null when not run. */
  storeCheck: string | null;
}

export interface Health {
  ready: boolean;
  /** Why it is not ready (empty when ready). */
  reasons: string[];
  warnings: HealthWarning[];
}

/** The root-expiry warning at `now`, or null when more than ROOT_WARN_DAYS remain. */
export function rootExpiryWarning(rootExpires: string, rootVersion: number, now: Date): HealthWarning | null {
  const left = Date.parse(rootExpires) - now.getTime();
  if (left > ROOT_WARN_DAYS * DAY_MS) return null;
  const when = `root v${rootVersion} expires ${rootExpires} (now ${now.toISOString()})`;
  if (left <= 0) return { level: 'error', code: 'ROOT_EXPIRED', message: `${when}: it has EXPIRED and every client refuses the repository; sign and publish a new root now (keyshare root propose/sign/publish)` };
  const days = Math.floor(left / DAY_MS);
  const level = left <= ROOT_LOUD_DAYS * DAY_MS ? 'error' : 'warn';
  return { level, code: 'ROOT_EXPIRING', message: `${level === 'error' ? 'URGENT: ' : ''}${when}, in ${days} days: clients refuse it once expired; sign and publish a new root (keyshare root propose/sign/publish)` };
}

export function evaluateHealth(input: HealthInput): Health {
  const reasons: string[] = [];
  const warnings: HealthWarning[] = [];
  const now = input.now.getTime();
  if (input.database === 'down') reasons.push('database: down');
  if (!input.roles.some((r) => r.role === 'timestamp')) reasons.push('nothing is served yet');
  // Issue 24 row 8: clients fail on any expired role, whichever it is.
  const expired = input.roles.filter((r) => Date.parse(r.expires) <= now).map((r) => `${r.role} v${r.version}`);
  if (expired.length > 0) reasons.push(`expired: ${expired.slice(0, 5).join(', ')}${expired.length > 5 ? ` and ${expired.length - 5} more` : ''}`);
  // Issue 24 row 4: a replica that cannot sign must not look healthy.
  if (input.staleKeys.length > 0) reasons.push(`online keys stale: the root names other ${input.staleKeys.join(', ')} keys than this process holds`);
  const root = input.roles.find((r) => r.role === 'root');
  const rootWarning = root ? rootExpiryWarning(root.expires, root.version, input.now) : null;
  if (rootWarning) warnings.push(rootWarning);
  if (input.storeCheck !== null && input.storeCheck !== 'ok') {
    warnings.push({ level: 'error', code: 'STORE_CHECK_FAILED', message: `the database's quick_check at start found damage: ${input.storeCheck.slice(0, 500)}` });
  }
  return { ready: reasons.length === 0, reasons, warnings };
}

/** Whether the database answers a cheap read within `timeoutMs`. */
export async function probeDatabase(store: Pick<Store, 'changeSeq'>, timeoutMs = 2_000): Promise<'up' | 'down'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'down'>((resolve) => {
    timer = setTimeout(() => resolve('down'), timeoutMs);
  });
  try {
    return await Promise.race([store.changeSeq().then(() => 'up' as const), timeout]);
  } catch {
    return 'down';
  } finally {
    clearTimeout(timer);
  }
}
