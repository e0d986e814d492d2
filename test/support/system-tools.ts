/**
 * The Debian packages the end-to-end tests drive (the same list as .ci/run). The guide's rule:
 * `npm test` never skips those tests silently. A vitest global setup (./system-tools-global.ts)
 * installs what is missing when it runs as root, and otherwise stops the run with the exact
 * command to type.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Each package with the files that show it is installed (any one of them). */
export const SYSTEM_PACKAGES: { pkg: string; anyOf: () => string[] }[] = [
  { pkg: 'skopeo', anyOf: () => ['/usr/bin/skopeo'] },
  { pkg: 'docker-registry', anyOf: () => ['/usr/bin/docker-registry'] },
  { pkg: 'gnupg', anyOf: () => ['/usr/bin/gpg'] },
  { pkg: 'openssl', anyOf: () => ['/usr/bin/openssl'] },
  { pkg: 'chromium', anyOf: () => ['/usr/bin/chromium'] },
  { pkg: 'softhsm2', anyOf: () => ['/usr/bin/softhsm2-util'] },
  { pkg: 'zsh', anyOf: () => ['/usr/bin/zsh', '/bin/zsh'] },
  { pkg: 'nginx', anyOf: () => ['/usr/sbin/nginx'] },
  { pkg: 'postgresql', anyOf: () => postgresBinaries() },
];

function postgresBinaries(): string[] {
  const base = '/usr/lib/postgresql';
  return existsSync(base) ? readdirSync(base).map((v) => join(base, v, 'bin', 'postgres')) : [];
}

/** The packages none of whose files exist. */
export function missingPackages(exists: (file: string) => boolean = existsSync): string[] {
  return SYSTEM_PACKAGES.filter((p) => !p.anyOf().some(exists)).map((p) => p.pkg);
}

export const installCommand = (pkgs: string[]) => `apt-get install -y ${pkgs.join(' ')}`;
