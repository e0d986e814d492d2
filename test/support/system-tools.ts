/**
 * The system tools the end-to-end tests drive, detected in one place (issue 24 test audit):
 * the vitest global setup (./system-tools-global.ts) installs the Debian packages that are
 * missing (as root) or stops the run with the exact command, and the tests find each tool
 * here, by the same files. A test never skips for a missing tool: `requireTool` fails it,
 * naming the package to install.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Each tool: its Debian package and the files that show it is installed (the first found is used). */
const TOOLS = {
  skopeo: { pkg: 'skopeo', files: () => ['/usr/bin/skopeo'] },
  'docker-registry': { pkg: 'docker-registry', files: () => ['/usr/bin/docker-registry'] },
  gpg: { pkg: 'gnupg', files: () => ['/usr/bin/gpg'] },
  openssl: { pkg: 'openssl', files: () => ['/usr/bin/openssl'] },
  chromium: { pkg: 'chromium', files: () => ['/usr/bin/chromium'] },
  // The PKCS#11 module is what the tests load (softhsm2-util alone is not enough).
  softhsm2: { pkg: 'softhsm2', files: () => ['/usr/lib/softhsm/libsofthsm2.so', '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so', '/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so'] },
  'softhsm2-util': { pkg: 'softhsm2', files: () => ['/usr/bin/softhsm2-util'] },
  zsh: { pkg: 'zsh', files: () => ['/usr/bin/zsh', '/bin/zsh'] },
  htpasswd: { pkg: 'apache2-utils', files: () => ['/usr/bin/htpasswd'] },
  nginx: { pkg: 'nginx', files: () => ['/usr/sbin/nginx', '/usr/bin/nginx'] },
  postgres: { pkg: 'postgresql', files: () => postgresBinaries() },
  libfaketime: { pkg: 'libfaketime', files: () => ['/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1', '/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1'] },
} satisfies Record<string, { pkg: string; files: () => string[] }>;

export type Tool = keyof typeof TOOLS;

/** The newest PostgreSQL server binary first. */
function postgresBinaries(): string[] {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return [];
  const versions = readdirSync(base).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  return versions.map((v) => join(base, v, 'bin', 'postgres'));
}

/** The tool's file, or null when it is not installed. */
export function toolPath(tool: Tool, exists: (file: string) => boolean = existsSync): string | null {
  return TOOLS[tool].files().find(exists) ?? null;
}

/** The tool's file; throws, naming the package to install, when it is missing (never a silent skip). */
export function requireTool(tool: Tool): string {
  const path = toolPath(tool);
  if (!path) throw new Error(`${tool} is missing: run \`${installCommand([TOOLS[tool].pkg])}\` (npm test's global setup does it as root)`);
  return path;
}

/** The Debian packages the tests need (the same list as .ci/run). */
export const SYSTEM_PACKAGES: string[] = [...new Set(Object.values(TOOLS).map((t) => t.pkg))];

/** The packages with a tool not installed. */
export function missingPackages(exists: (file: string) => boolean = existsSync): string[] {
  return [...new Set((Object.keys(TOOLS) as Tool[]).filter((t) => toolPath(t, exists) === null).map((t) => TOOLS[t].pkg))];
}

export const installCommand = (pkgs: string[]) => `apt-get install -y ${pkgs.join(' ')}`;
