/** Settings: flags win over environment variables, which win over defaults (CONTRACT.md "Settings"). */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { KeyshareError, Codes } from '../service/errors.js';

export const DEFAULTS = {
  data: './keyshare-data',
  listen: '127.0.0.1:8080',
  server: 'http://127.0.0.1:8080',
};

export function dataDir(flag?: string): string {
  return resolve(flag ?? process.env.KEYSHARE_DATA ?? DEFAULTS.data);
}

export function listenAddress(flag?: string): string {
  return flag ?? process.env.KEYSHARE_LISTEN ?? DEFAULTS.listen;
}

export function serverUrl(flag?: string): string {
  return (flag ?? process.env.KEYSHARE_SERVER ?? DEFAULTS.server).replace(/\/+$/, '');
}

export function adminToken(flags: { token?: string; data?: string }): string {
  const t = flags.token ?? process.env.KEYSHARE_TOKEN;
  if (t) return t.trim();
  const file = join(dataDir(flags.data), 'admin.token');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  throw new KeyshareError(Codes.UNAUTHORIZED, `no admin token: pass --token, set KEYSHARE_TOKEN, or run where ${file} exists`);
}

/** `--database URL` for the commands that open the data dir (serve has it from SETTINGS). */
export const DATABASE_FLAG = '--database <url>';
export const DATABASE_HELP = 'database, postgres://... (env KEYSHARE_DATABASE_URL, or database: in <data>/keyshare.yaml; default the embedded SQLite database in the data dir)';

/**
 * The data dir and database of a command that opens the data dir (init, bundle, backup,
 * restore): flags, then environment, then the data dir's keyshare.yaml, as `serve` resolves them
 * (service/config.ts).
 */
export async function storeSettings(o: { data?: string; database?: string }): Promise<{ dataDir: string; database: string | null }> {
  const { loadConfig } = await import('../service/config.js');
  const config = loadConfig({ flags: { data: o.data, database: o.database } });
  return { dataDir: config.data, database: config.database };
}
