/**
 * The service's settings as plain data: the one list that the serve command's flags, the
 * environment variables, keyshare.yaml and the README's settings table follow. No imports, so
 * that the CLI can build its help without loading the service (service/config.ts validates).
 */

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface SettingDef {
  /** The key in keyshare.yaml (dotted for nested keys, e.g. expiry.timestamp). */
  key: string;
  flag: string;
  env: string;
  /** As shown in the README. */
  defaultText: string;
  description: string;
  /** Only for `serve` (the admin settings `server` and `token` are read by cli/settings.ts). */
  serve: boolean;
}

export const SETTINGS: readonly SettingDef[] = [
  { key: 'config', flag: '--config FILE', env: 'KEYSHARE_CONFIG', defaultText: '`<data>/keyshare.yaml` if it exists', description: 'configuration file (YAML)', serve: true },
  { key: 'data', flag: '--data DIR', env: 'KEYSHARE_DATA', defaultText: '`./keyshare-data`', description: 'data dir', serve: true },
  { key: 'listen', flag: '--listen HOST:PORT', env: 'KEYSHARE_LISTEN', defaultText: '`127.0.0.1:8080`', description: 'listen address', serve: true },
  { key: 'server', flag: '--server URL', env: 'KEYSHARE_SERVER', defaultText: '`http://127.0.0.1:8080`', description: 'server for admin commands (flag or env only)', serve: false },
  { key: 'token', flag: '--token T', env: 'KEYSHARE_TOKEN', defaultText: 'contents of `<data>/admin.token`', description: 'admin token (flag, env or file only; never in keyshare.yaml)', serve: false },
  { key: 'database', flag: '--database URL', env: 'KEYSHARE_DATABASE_URL', defaultText: 'embedded SQLite in the data dir', description: 'database (`postgres://...`)', serve: true },
  { key: 'static-dir', flag: '--static-dir DIR', env: 'KEYSHARE_STATIC_DIR', defaultText: 'none', description: 'static copy of the repository, written on every publish', serve: true },
  {
    key: 'trusted-proxy',
    flag: '--trusted-proxy CIDR',
    env: 'KEYSHARE_TRUSTED_PROXY',
    defaultText: 'none',
    description: 'proxies whose forwarded headers are believed (comma-separated CIDRs): for the console origin check, secure cookies and client addresses',
    serve: true,
  },
  {
    key: 'allow-private-upstreams',
    flag: '--allow-private-upstreams',
    env: 'KEYSHARE_ALLOW_PRIVATE_UPSTREAMS',
    defaultText: 'off',
    description: 'let upstream and CRL URLs (and their redirects) reach loopback, link-local and private addresses',
    serve: true,
  },
  { key: 'log-level', flag: '--log-level LEVEL', env: 'KEYSHARE_LOG_LEVEL', defaultText: '`info`', description: `log level: ${LOG_LEVELS.join(', ')}`, serve: true },
  { key: 'expiry.timestamp', flag: '--expiry-timestamp DURATION', env: 'KEYSHARE_EXPIRY_TIMESTAMP', defaultText: '`1d`', description: 'lifetime of timestamp metadata', serve: true },
  { key: 'expiry.snapshot', flag: '--expiry-snapshot DURATION', env: 'KEYSHARE_EXPIRY_SNAPSHOT', defaultText: '`7d`', description: 'lifetime of snapshot metadata', serve: true },
  { key: 'expiry.targets', flag: '--expiry-targets DURATION', env: 'KEYSHARE_EXPIRY_TARGETS', defaultText: '`30d`', description: 'lifetime of targets and delegated metadata', serve: true },
  { key: 'expiry.root', flag: '--expiry-root DURATION', env: 'KEYSHARE_EXPIRY_ROOT', defaultText: '`365d`', description: 'lifetime of root metadata (new roots and first start)', serve: true },
  { key: 'max-body', flag: '--max-body SIZE', env: 'KEYSHARE_MAX_BODY', defaultText: '`4MiB`', description: 'largest admin API request body', serve: true },
  { key: 'shutdown-timeout', flag: '--shutdown-timeout DURATION', env: 'KEYSHARE_SHUTDOWN_TIMEOUT', defaultText: '`30s`', description: 'on SIGTERM, how long in-flight requests get before connections are cut', serve: true },
  { key: 'session-ttl', flag: '--session-ttl DURATION', env: 'KEYSHARE_SESSION_TTL', defaultText: '`8h`', description: 'web console session lifetime', serve: true },
  { key: 'revocation-journal', flag: '--revocation-journal FILE', env: 'KEYSHARE_REVOCATION_JOURNAL', defaultText: '`<data>/revocations.journal`', description: 'append-only journal of every revocation, replayed after a restore (`keyshare revocations replay`)', serve: true },
  { key: 'origin-grace', flag: '--origin-grace DURATION', env: 'KEYSHARE_ORIGIN_GRACE', defaultText: '`7d`', description: 'how long an imported origin\'s trust is still republished after its own metadata expired', serve: true },
  { key: 'advertise-url', flag: '--advertise-url URL', env: 'KEYSHARE_ADVERTISE_URL', defaultText: 'none', description: 'this replica\'s own URL, named to clients when another replica must sign (`NOT_PUBLISHER`)', serve: true },
  {
    key: 'upstream-poll-interval',
    flag: '--upstream-poll-interval DURATION',
    env: 'KEYSHARE_UPSTREAM_POLL_INTERVAL',
    defaultText: '`60s`',
    description: 'time between polls of each upstream, ±20 % jitter (a change announced on its feed syncs at once)',
    serve: true,
  },
  {
    key: 'clients.cap',
    flag: '--clients-cap N',
    env: 'KEYSHARE_CLIENTS_CAP',
    defaultText: '`10000`',
    description: 'how many reporting clients (`fetch --report`) are kept; a new client beyond it is refused with `CLIENTS_FULL` until others expire',
    serve: true,
  },
  {
    key: 'clients.expiry',
    flag: '--clients-expiry DURATION',
    env: 'KEYSHARE_CLIENTS_EXPIRY',
    defaultText: '`30d`',
    description: 'a reporting client silent for this long is dropped (from `clients ls`, the rollout and /metrics, and its row from the database)',
    serve: true,
  },
  {
    key: 'crl-validity',
    flag: '--crl-validity DURATION',
    env: 'KEYSHARE_CRL_VALIDITY',
    defaultText: '`24h`',
    description: 'how long a CRL that a signing authority (`keyshare ca`) signs is valid: its nextUpdate after thisUpdate; it is signed again at half of it',
    serve: true,
  },
  {
    key: 'sigstore-scope',
    flag: '--sigstore-scope SCOPE',
    env: 'KEYSHARE_SIGSTORE_SCOPE',
    defaultText: 'none',
    description: 'scope published as Sigstore `trusted_root.json`, a top-level target, so that Sigstore clients can use this service as their TUF mirror',
    serve: true,
  },
] as const;

/** The README's settings table, generated from SETTINGS (a test keeps the README in step). */
export function settingsTable(): string {
  const rows = SETTINGS.map((s) => `| ${s.description} | \`${s.flag}\` | \`${s.env}\` | ${s.defaultText} |`);
  return ['| setting | flag | env | default |', '|---|---|---|---|', ...rows].join('\n');
}
