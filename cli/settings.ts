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

/** The service URL: http(s) only, so that `--server 127.0.0.1:8080` says what to write instead. */
export function serverUrl(flag?: string): string {
  const [value, source] = flag !== undefined ? [flag, '--server'] : process.env.KEYSHARE_SERVER ? [process.env.KEYSHARE_SERVER, 'KEYSHARE_SERVER'] : [DEFAULTS.server, 'the default server'];
  let url: URL | null = null;
  try {
    url = new URL(value);
  } catch {
    // reported below
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || !url.host) {
    throw new KeyshareError(Codes.CONFIG_INVALID, `${source} must be a URL such as http://127.0.0.1:8080, not ${JSON.stringify(value)}`);
  }
  return value.replace(/\/+$/, '');
}

/** Where the admin token came from, for messages that say which one was refused. */
export interface AdminToken {
  token: string;
  source: string;
}

export function adminTokenWithSource(flags: { token?: string; data?: string }): AdminToken {
  if (flags.token) return { token: flags.token.trim(), source: '--token' };
  if (process.env.KEYSHARE_TOKEN) return { token: process.env.KEYSHARE_TOKEN.trim(), source: 'KEYSHARE_TOKEN' };
  const file = join(dataDir(flags.data), 'admin.token');
  if (existsSync(file)) return { token: readFileSync(file, 'utf8').trim(), source: file };
  throw new KeyshareError(Codes.UNAUTHORIZED, `no admin token: pass --token, set KEYSHARE_TOKEN, or run where ${file} exists (--data DIR names the data dir)`);
}

export function adminToken(flags: { token?: string; data?: string }): string {
  return adminTokenWithSource(flags).token;
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
