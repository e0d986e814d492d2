/**
 * Registry credentials and the distribution token flow.
 *
 * Where credentials come from, first match wins (as podman/skopeo and docker read them):
 *  - `--username` with `--password-stdin` (given to the client directly);
 *  - containers-auth.json(5): `$REGISTRY_AUTH_FILE`, `$XDG_RUNTIME_DIR/containers/auth.json`,
 *    `$XDG_CONFIG_HOME/containers/auth.json` (default ~/.config), where the most specific key
 *    wins (`host/ns/repo`, then `host/ns`, then `host`);
 *  - the docker config: `$DOCKER_CONFIG/config.json` (default ~/.docker/config.json).
 * Only inline `auth` entries (base64 `user:password`) are read; credential helpers are not run.
 *
 * The challenge: `WWW-Authenticate: Basic realm=...` or `Bearer realm=...,service=...,scope=...`
 * (the docker registry token authentication spec, which the OCI distribution spec refers to).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface Credentials {
  username: string;
  password: string;
}

export interface Challenge {
  scheme: 'basic' | 'bearer';
  params: Record<string, string>;
}

/** Parses a WWW-Authenticate header (one challenge, as registries send). */
export function parseChallenge(header: string | undefined): Challenge | null {
  if (!header) return null;
  const m = /^\s*(Basic|Bearer)\b\s*(.*)$/i.exec(header);
  if (!m) return null;
  const params: Record<string, string> = {};
  for (const p of m[2]!.matchAll(/([a-zA-Z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]!;
  return { scheme: m[1]!.toLowerCase() as Challenge['scheme'], params };
}

const MAX_AUTH_FILE = 1024 * 1024;

function readAuths(file: string): Record<string, { auth?: string }> | null {
  try {
    if (!existsSync(file) || statSync(file).size > MAX_AUTH_FILE) return null;
    const json = JSON.parse(readFileSync(file, 'utf8')) as { auths?: Record<string, { auth?: string }> };
    return json && typeof json.auths === 'object' && json.auths !== null ? json.auths : null;
  } catch {
    return null; // an unreadable or malformed file is one without credentials, as for podman
  }
}

function decode(auth: string | undefined): Credentials | null {
  if (typeof auth !== 'string' || auth.length === 0) return null;
  const text = Buffer.from(auth, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return colon > 0 ? { username: text.slice(0, colon), password: text.slice(colon + 1) } : null;
}

/** The auth files to read, in order. */
export function authFiles(env: NodeJS.ProcessEnv = process.env): string[] {
  const files: string[] = [];
  if (env.REGISTRY_AUTH_FILE) files.push(env.REGISTRY_AUTH_FILE);
  if (env.XDG_RUNTIME_DIR) files.push(join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'));
  files.push(join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'containers', 'auth.json'));
  files.push(join(env.DOCKER_CONFIG || join(homedir(), '.docker'), 'config.json'));
  return files;
}

/** Docker writes keys as URLs (`https://host/v1/`); containers-auth.json as `host[/path]`. */
const normalizeKey = (k: string) => k.replace(/^https?:\/\//, '').replace(/\/v[12]\/?$/, '').replace(/\/+$/, '');

/** The stored credentials for `registry/repository`, or null (anonymous). */
export function storedCredentials(registry: string, repository: string, env: NodeJS.ProcessEnv = process.env): Credentials | null {
  const parts = repository.split('/');
  const keys = parts.map((_, i) => `${registry}/${parts.slice(0, parts.length - i).join('/')}`).concat(registry);
  for (const file of authFiles(env)) {
    const auths = readAuths(file);
    if (!auths) continue;
    const byKey = new Map(Object.entries(auths).map(([k, v]) => [normalizeKey(k), v]));
    for (const k of keys) {
      const found = decode(byKey.get(k)?.auth);
      if (found) return found;
    }
  }
  return null;
}
