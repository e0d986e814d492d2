/**
 * One validated configuration for the service (CONTRACT.md "Settings"): each setting comes from
 * its flag, else its environment variable, else the optional `keyshare.yaml` (in the data dir,
 * or the file named by --config / KEYSHARE_CONFIG), else its default. Any invalid value stops
 * start-up with CONFIG_INVALID, naming the setting and where the bad value came from.
 *
 * SETTINGS is the single list: the serve command's flags, the environment variables, the keys
 * of keyshare.yaml and the README's settings table all follow it (a test checks the README).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { parse as parseYaml } from 'yaml';
import { KeyshareError, Codes } from './errors.js';
import { LOG_LEVELS, SETTINGS, type LogLevel, type SettingDef } from './settings.js';
import { TrustedProxies } from './http/client.js';
import { parseScope } from './domain/scope.js';

export { SETTINGS, settingsTable, type SettingDef } from './settings.js';
import { DEFAULT_EXPIRY, type ExpiryConfig } from './repo/layout.js';
import { DEFAULT_CLIENT_LIMITS } from './rollout.js';

export const CONFIG_FILE_NAME = 'keyshare.yaml';
const MAX_CONFIG_BYTES = 1024 * 1024;

// ---- durations and sizes ----

const DURATION_UNITS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400, w: 7 * 86_400, y: 365 * 86_400 };

/** "90s", "15m", "12h", "7d", "2w", "1y", "1h30m", or a plain number of seconds. Returns seconds. */
export function durationSeconds(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new Error('must be a non-negative number of seconds');
    return value;
  }
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) {
    throw new Error(`${JSON.stringify(value)} is not a duration (e.g. 90s, 15m, 12h, 7d, 2w, 1y)`);
  }
  return parts.reduce((sum, p) => sum + Number(p[1]) * DURATION_UNITS[p[2]!]!, 0);
}

/** "4MiB", "512KiB", "1MB", or a plain number of bytes. */
export function parseSize(value: string | number): number {
  if (typeof value === 'number') return value;
  const m = /^(\d+)\s*(B|KB|KiB|MB|MiB|GB|GiB)?$/i.exec(value.trim());
  if (!m) throw new Error(`${JSON.stringify(value)} is not a size (e.g. 4MiB, 512KiB, 1000000)`);
  const unit = (m[2] ?? 'B').toLowerCase();
  const mult: Record<string, number> = { b: 1, kb: 1e3, kib: 1024, mb: 1e6, mib: 1024 ** 2, gb: 1e9, gib: 1024 ** 3 };
  return Number(m[1]) * mult[unit]!;
}

const duration = (min: number, max: number) =>
  z.union([z.string(), z.number()]).transform((v, ctx) => {
    try {
      const s = durationSeconds(v);
      if (s < min || s > max) throw new Error(`must be between ${min}s and ${max}s`);
      return s;
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
      return z.NEVER;
    }
  });

const LISTEN = /^(?:\[([^\]]+)\]|([^:\s/]+)):(\d{1,5})$/;

const SettingsSchema = z
  .object({
    config: z.string().min(1).optional(),
    data: z.string().min(1),
    listen: z.string().superRefine((v, ctx) => {
      const m = LISTEN.exec(v);
      if (!m || Number(m[3]) > 65535) ctx.addIssue({ code: 'custom', message: `must be HOST:PORT, not ${JSON.stringify(v)}` });
    }),
    server: z.string().url({ message: 'must be an http(s) URL' }).refine((v) => /^https?:\/\//.test(v), 'must be an http(s) URL'),
    database: z
      .string()
      .min(1)
      .refine((v) => /^postgres(ql)?:\/\/\S+$/.test(v) || !/^[a-z][a-z0-9+.-]*:\/\//i.test(v), 'must be postgres://... or a SQLite file path')
      .optional(),
    'static-dir': z.string().min(1).optional(),
    'trusted-proxy': z
      .union([z.string(), z.array(z.string())])
      .transform((v, ctx) => {
        const list = (Array.isArray(v) ? v : v.split(',')).map((x) => x.trim()).filter(Boolean);
        try {
          TrustedProxies.parse(list);
        } catch (e) {
          ctx.addIssue({ code: 'custom', message: (e as Error).message });
        }
        return list;
      })
      .optional(),
    'allow-private-upstreams': z
      .union([z.boolean(), z.string()])
      .transform((v, ctx) => {
        if (typeof v === 'boolean') return v;
        const t = v.trim().toLowerCase();
        if (['1', 'true', 'yes', 'on'].includes(t)) return true;
        if (['0', 'false', 'no', 'off'].includes(t)) return false;
        ctx.addIssue({ code: 'custom', message: `must be true or false, not ${JSON.stringify(v)}` });
        return z.NEVER;
      })
      .optional(),
    'log-level': z.enum(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(', ')}` }),
    'expiry.timestamp': duration(60, 366 * 86_400),
    'expiry.snapshot': duration(60, 366 * 86_400),
    'expiry.targets': duration(60, 5 * 366 * 86_400),
    'expiry.root': duration(86_400, 20 * 366 * 86_400),
    'max-body': z.union([z.string(), z.number()]).transform((v, ctx) => {
      try {
        const n = parseSize(v);
        if (n < 1024 || n > 1024 ** 3) throw new Error('must be between 1KiB and 1GiB');
        return n;
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: (e as Error).message });
        return z.NEVER;
      }
    }),
    'shutdown-timeout': duration(0, 3600),
    'session-ttl': duration(60, 30 * 86_400),
    'upstream-poll-interval': duration(1, 86_400),
    'revocation-journal': z.string().min(1).optional(),
    'origin-grace': duration(0, 366 * 86_400),
    // Issue 18: at least 10 minutes, so that half of it outlasts the CA service's one-minute tick.
    'crl-validity': duration(600, 366 * 86_400),
    'advertise-url': z.string().url({ message: 'must be an http(s) URL' }).refine((v) => /^https?:\/\//.test(v), 'must be an http(s) URL').optional(),
    'clients.cap': z.union([z.string(), z.number()]).transform((v, ctx) => {
      const n = typeof v === 'number' ? v : /^\d+$/.test(v.trim()) ? Number(v.trim()) : NaN;
      if (!Number.isSafeInteger(n) || n < 1 || n > 10_000_000) {
        ctx.addIssue({ code: 'custom', message: `must be a whole number of clients from 1 to 10000000, not ${JSON.stringify(v)}` });
        return z.NEVER;
      }
      return n;
    }),
    'clients.expiry': duration(60, 366 * 86_400),
    'sigstore-scope': z
      .string()
      .superRefine((v, ctx) => {
        try {
          parseScope(v);
        } catch (e) {
          ctx.addIssue({ code: 'custom', message: (e as Error).message });
        }
      })
      .optional(),
  })
  .superRefine((v, ctx) => {
    // TUF: a role must not outlive the role that lists it by less than its re-signing margin.
    if (v['expiry.timestamp'] > v['expiry.snapshot']) ctx.addIssue({ code: 'custom', path: ['expiry.timestamp'], message: 'must not be longer than expiry.snapshot' });
  });

export interface Config {
  /** The keyshare.yaml that was read, if any. */
  configFile: string | null;
  data: string;
  listen: string;
  server: string;
  database: string | null;
  staticDir: string | null;
  logLevel: LogLevel;
  /** `--trusted-proxy`: CIDRs whose X-Forwarded-* headers are believed (service/http/client.ts). */
  trustedProxy: string[];
  /** Issue 16, finding 9: upstream and CRL fetches may reach loopback, link-local and private addresses. */
  allowPrivateUpstreams: boolean;
  /** Only the lifetimes that were set (flag, environment or file): the rest stay as stored at init. */
  expiry: Partial<ExpiryConfig>;
  maxBodyBytes: number;
  shutdownTimeoutMs: number;
  sessionTtlSeconds: number;
  /** Time between polls of each upstream (service/federation/upstream/manager.ts adds ±20 % jitter). */
  upstreamPollMs: number;
  /** Issue 24: the revocation journal (null: `<data>/revocations.journal`). */
  revocationJournal: string | null;
  /** Issue 24: how long an imported origin's trust is republished past its own expiry. */
  originGraceSeconds: number;
  /** Issue 18: nextUpdate - thisUpdate of the CRLs the signing authorities sign. */
  crlValidityMs: number;
  /** Issue 24: this replica's URL, named in NOT_PUBLISHER by the other replicas. */
  advertiseUrl: string | null;
  /** Issue 19: the scope published as the top-level target trusted_root.json (service/repo/sigstore-root.ts). */
  sigstoreScope: string | null;
  /** Issue 21: how many reporting clients are kept, and after how long a silent one is dropped. */
  clients: { cap: number; ttlMs: number };
}

const DEFAULTS: Record<string, string | undefined> = {
  data: './keyshare-data',
  listen: '127.0.0.1:8080',
  server: 'http://127.0.0.1:8080',
  'log-level': 'info',
  'expiry.timestamp': `${DEFAULT_EXPIRY.timestamp}s`,
  'expiry.snapshot': `${DEFAULT_EXPIRY.snapshot}s`,
  'expiry.targets': `${DEFAULT_EXPIRY.targets}s`,
  'expiry.root': `${DEFAULT_EXPIRY.root}s`,
  'max-body': '4MiB',
  'shutdown-timeout': '30s',
  'session-ttl': '8h',
  'upstream-poll-interval': '60s',
  'origin-grace': '7d',
  'crl-validity': '24h',
  'clients.cap': String(DEFAULT_CLIENT_LIMITS.cap),
  'clients.expiry': `${DEFAULT_CLIENT_LIMITS.ttlMs / 1000}s`,
};

/** The commander option name of a setting: --static-dir → staticDir, --expiry-timestamp → expiryTimestamp. */
export function flagProperty(def: SettingDef): string {
  const name = def.flag.split(' ')[0]!.replace(/^--/, '');
  return name.replace(/-([a-z])/g, (_, ch: string) => ch.toUpperCase());
}

const invalid = (message: string) => new KeyshareError(Codes.CONFIG_INVALID, message);

/** Flattens { expiry: { timestamp: 1d } } to { 'expiry.timestamp': '1d' }; refuses unknown keys. */
function flattenFile(doc: unknown, file: string): Record<string, unknown> {
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw invalid(`${file}: must be a YAML mapping of settings`);
  const known = new Set(SETTINGS.map((s) => s.key));
  const fileKeys = new Set(SETTINGS.filter((s) => s.serve && s.key !== 'config').map((s) => s.key));
  const out: Record<string, unknown> = {};
  const walk = (obj: Record<string, unknown>, prefix: string) => {
    for (const [k, v] of Object.entries(obj)) {
      const key = prefix + k;
      if (v !== null && typeof v === 'object' && !Array.isArray(v) && [...known].some((n) => n.startsWith(key + '.'))) {
        walk(v as Record<string, unknown>, key + '.');
      } else if (key === 'token') {
        throw invalid(`${file}: token: do not put tokens in the configuration file; use KEYSHARE_TOKEN or <data>/admin.token`);
      } else if (key === 'server') {
        throw invalid(`${file}: server: is for admin commands; use --server or KEYSHARE_SERVER`);
      } else if (!fileKeys.has(key)) {
        throw invalid(`${file}: unknown setting ${JSON.stringify(key)} (known: ${[...fileKeys].join(', ')})`);
      } else {
        out[key] = v;
      }
    }
  };
  walk(doc as Record<string, unknown>, '');
  return out;
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    if (statSync(file).size > MAX_CONFIG_BYTES) throw invalid(`${file}: larger than ${MAX_CONFIG_BYTES} bytes`);
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if (e instanceof KeyshareError) throw e;
    throw invalid(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw invalid(`${file}: not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  return flattenFile(doc, file);
}

export interface ConfigSources {
  /** Commander option values (camelCase: data, listen, staticDir, logLevel, expiryTimestamp, ...). */
  flags?: Record<string, unknown>;
  env?: Record<string, string | undefined>;
  cwd?: string;
}

/** Builds and validates the configuration: flags, then environment, then keyshare.yaml, then defaults. */
export function loadConfig(sources: ConfigSources = {}): Config {
  const flags = sources.flags ?? {};
  const env = sources.env ?? process.env;
  const cwd = sources.cwd ?? process.cwd();
  const fromFlagOrEnv = (def: SettingDef): { value: unknown; source: string } | undefined => {
    const f = flags[flagProperty(def)];
    if (f !== undefined && f !== null) return { value: f, source: def.flag.split(' ')[0]! };
    const e = env[def.env];
    if (e !== undefined && e !== '') return { value: e, source: def.env };
    return undefined;
  };
  const byKey = new Map(SETTINGS.map((s) => [s.key, s]));

  // Which file: --config / KEYSHARE_CONFIG (must exist), else keyshare.yaml in the data dir (optional).
  const explicit = fromFlagOrEnv(byKey.get('config')!);
  const dataFirst = fromFlagOrEnv(byKey.get('data')!);
  let configFile: string | null = null;
  if (explicit) {
    configFile = resolve(cwd, String(explicit.value));
    if (!existsSync(configFile)) throw invalid(`config (from ${explicit.source}): ${configFile} does not exist`);
  } else {
    const candidate = join(resolve(cwd, String(dataFirst?.value ?? DEFAULTS.data)), CONFIG_FILE_NAME);
    if (existsSync(candidate)) configFile = candidate;
  }
  const file = configFile ? readConfigFile(configFile) : {};
  const fileDir = configFile ? dirname(configFile) : cwd;

  const raw: Record<string, unknown> = {};
  const origin: Record<string, string> = {};
  for (const def of SETTINGS) {
    if (def.key === 'token' || def.key === 'config') continue;
    const given = fromFlagOrEnv(def);
    if (given) {
      raw[def.key] = given.value;
      origin[def.key] = given.source;
    } else if (file[def.key] !== undefined && file[def.key] !== null) {
      raw[def.key] = typeof file[def.key] === 'number' || Array.isArray(file[def.key]) ? file[def.key] : String(file[def.key]);
      origin[def.key] = configFile!;
    } else if (DEFAULTS[def.key] !== undefined) {
      raw[def.key] = DEFAULTS[def.key];
      origin[def.key] = 'default';
    }
  }
  const parsed = SettingsSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = String(issue.path[0] ?? 'config');
    throw invalid(`${key} (from ${origin[key] ?? 'default'}): ${issue.message}`);
  }
  const v = parsed.data;
  // Paths from the file are relative to the file; from flags and environment, to the working directory.
  const path = (key: string, value: string) => resolve(origin[key] === configFile ? fileDir : cwd, value);
  return {
    configFile,
    data: path('data', v.data),
    listen: v.listen,
    server: v.server.replace(/\/+$/, ''),
    database: v.database ?? null,
    staticDir: v['static-dir'] ? path('static-dir', v['static-dir']) : null,
    logLevel: v['log-level'],
    trustedProxy: v['trusted-proxy'] ?? [],
    allowPrivateUpstreams: v['allow-private-upstreams'] ?? false,
    expiry: Object.fromEntries(
      (['timestamp', 'snapshot', 'targets', 'root'] as const).filter((r) => origin[`expiry.${r}`] !== 'default').map((r) => [r, v[`expiry.${r}`]]),
    ),
    maxBodyBytes: v['max-body'],
    shutdownTimeoutMs: v['shutdown-timeout'] * 1000,
    sessionTtlSeconds: v['session-ttl'],
    upstreamPollMs: v['upstream-poll-interval'] * 1000,
    revocationJournal: v['revocation-journal'] ? path('revocation-journal', v['revocation-journal']) : null,
    originGraceSeconds: v['origin-grace'],
    crlValidityMs: v['crl-validity'] * 1000,
    advertiseUrl: v['advertise-url'] ? v['advertise-url'].replace(/\/+$/, '') : null,
    sigstoreScope: v['sigstore-scope'] ?? null,
    clients: { cap: v['clients.cap'], ttlMs: v['clients.expiry'] * 1000 },
  };
}

/**
 * The database of a data dir as configured (flags aside): KEYSHARE_DATABASE_URL, else
 * `database:` in its keyshare.yaml, else null (the embedded database). For callers handed a
 * data dir without a database setting (store/open.ts), so that every path that opens the data
 * dir uses the same database as `serve`.
 */
export function configuredDatabase(dataDir: string): string | null {
  return loadConfig({ flags: { data: dataDir } }).database;
}
