/**
 * Registry credentials and the distribution token flow.
 *
 * Where credentials come from, first match wins (as podman/skopeo and docker read them):
 *  - `--username` with `--password-stdin` (given to the client directly);
 *  - containers-auth.json(5): `$REGISTRY_AUTH_FILE`, `$XDG_RUNTIME_DIR/containers/auth.json`,
 *    `$XDG_CONFIG_HOME/containers/auth.json` (default ~/.config), where the most specific key
 *    wins (`host/ns/repo`, then `host/ns`, then `host`);
 *  - the docker config: `$DOCKER_CONFIG/config.json` (default ~/.docker/config.json).
 * In each file: a credential helper (`credHelpers` for the registry, else `credsStore`; the
 * docker credential helper protocol, runCredentialHelper), then an inline `auth` entry (base64
 * `user:password`).
 *
 * The challenge: `WWW-Authenticate: Basic realm=...` or `Bearer realm=...,service=...,scope=...`
 * (the docker registry token authentication spec, which the OCI distribution spec refers to).
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { OciCodes, ociError } from '../../shared/oci/errors.js';

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

/** What an auth file may say (docker config.json, containers-auth.json(5)). */
interface AuthFile {
  auths: Record<string, { auth?: string }>;
  /** Registry host → helper name (`docker-credential-<name>`). */
  credHelpers: Record<string, string>;
  /** The helper for every registry without its own (docker's "native store"). */
  credsStore: string | null;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function readAuthFile(file: string): AuthFile | null {
  try {
    if (!existsSync(file) || statSync(file).size > MAX_AUTH_FILE) return null;
    const json = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    if (!isObject(json)) return null;
    const helpers = isObject(json.credHelpers) ? Object.entries(json.credHelpers).filter((e): e is [string, string] => typeof e[1] === 'string') : [];
    return {
      auths: isObject(json.auths) ? (json.auths as AuthFile['auths']) : {},
      credHelpers: Object.fromEntries(helpers.map(([k, v]) => [normalizeKey(k), v])),
      credsStore: typeof json.credsStore === 'string' && json.credsStore !== '' ? json.credsStore : null,
    };
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

/**
 * The stored credentials for `registry/repository`, or null (anonymous). In each file, as
 * docker's config file reads them: the registry's `credHelpers` entry, then `credsStore`, then
 * an inline `auths` entry (the most specific key); a helper that has none for this registry
 * ("credentials not found") passes to the next source.
 */
export async function storedCredentials(registry: string, repository: string, env: NodeJS.ProcessEnv = process.env): Promise<Credentials | null> {
  const parts = repository.split('/');
  const keys = parts.map((_, i) => `${registry}/${parts.slice(0, parts.length - i).join('/')}`).concat(registry);
  for (const file of authFiles(env)) {
    const config = readAuthFile(file);
    if (!config) continue;
    for (const helper of new Set([config.credHelpers[registry], config.credsStore])) {
      const found = helper ? await runCredentialHelper(helper, registry, env, file) : null;
      if (found) return found;
    }
    const byKey = new Map(Object.entries(config.auths).map(([k, v]) => [normalizeKey(k), v]));
    for (const k of keys) {
      const found = decode(byKey.get(k)?.auth);
      if (found) return found;
    }
  }
  return null;
}

/** A helper name names a program on PATH, never a path. */
const HELPER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const HELPER_TIMEOUT_MS = 10_000;
/** A `get` answer is one small JSON object; more is cut off (and the helper killed). */
export const HELPER_MAX_OUTPUT = 64 * 1024;
/** docker-credential-helpers' ErrCredentialsNotFound ("credentials not found in native keychain"). */
const NOT_FOUND = /credentials not found/i;

/**
 * The docker credential helper protocol (docker/docker-credential-helpers): run
 * `docker-credential-<name> get` with the registry host on stdin; it prints
 * `{"ServerURL","Username","Secret"}`, or "credentials not found" (then: null). Bounded by
 * HELPER_TIMEOUT_MS and HELPER_MAX_OUTPUT; any other failure is REGISTRY_AUTH_FAILED, naming
 * the helper and the file that asks for it, never echoing what it printed on stdout.
 */
export function runCredentialHelper(name: string, registry: string, env: NodeJS.ProcessEnv, file: string, timeoutMs = HELPER_TIMEOUT_MS): Promise<Credentials | null> {
  const failed = (why: string) => ociError(OciCodes.REGISTRY_AUTH_FAILED, `the credential helper docker-credential-${name} (named in ${file}) for ${registry} ${why}`);
  if (!HELPER_NAME.test(name)) return Promise.reject(ociError(OciCodes.REGISTRY_AUTH_FAILED, `${file} names the credential helper ${JSON.stringify(name.slice(0, 100))}: a helper name is letters, digits, ".", "_" and "-"`));
  return new Promise((resolve, reject) => {
    const child = execFile(`docker-credential-${name}`, ['get'], { env, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: HELPER_MAX_OUTPUT, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) {
        const e = error as NodeJS.ErrnoException & { killed?: boolean };
        if (NOT_FOUND.test(stdout) || NOT_FOUND.test(stderr)) return resolve(null);
        if (e.code === 'ENOENT') return reject(failed('is not on PATH'));
        if (e.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') return reject(failed(`printed over ${HELPER_MAX_OUTPUT} bytes`));
        if (e.killed) return reject(failed(`did not answer within ${timeoutMs / 1000} s`));
        return reject(failed(`failed (${e.code === undefined ? 'error' : `exit ${e.code}`}): ${stderr.trim().replace(/\s+/g, ' ').slice(0, 200)}`));
      }
      let answer: unknown;
      try {
        answer = JSON.parse(stdout);
      } catch {
        return reject(failed('printed something other than JSON'));
      }
      if (!isObject(answer) || typeof answer.Username !== 'string' || typeof answer.Secret !== 'string' || answer.Secret === '') return reject(failed('printed no Username and Secret'));
      // docker: a Username of "<token>" makes the Secret an OAuth2 identity (refresh) token.
      if (answer.Username === '<token>') return reject(failed('gives an identity token (OAuth2 refresh token), which keyshare does not use: store a username and password or access token'));
      resolve({ username: answer.Username, password: answer.Secret });
    });
    child.stdin?.on('error', () => undefined); // a helper that exits without reading stdin
    child.stdin?.end(`${registry}\n`);
  });
}
