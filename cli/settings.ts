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
