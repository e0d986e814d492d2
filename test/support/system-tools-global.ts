/**
 * vitest global setup: every system tool the end-to-end tests need is there before any test
 * runs (./system-tools.ts). Missing ones are installed with apt-get when running as root;
 * otherwise the run stops with the command to run. Debian starts some of these packages as
 * system services on install; the tests start their own, so those are stopped (as .ci/run does).
 */
import { execFileSync } from 'node:child_process';
import { installCommand, missingPackages } from './system-tools.js';

const SERVICES = ['docker-registry', 'nginx', 'postgresql'];

export default function setup(): void {
  const missing = missingPackages();
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`the end-to-end tests need Debian packages that are missing: run \`sudo ${installCommand(missing)}\`, then npm test again`);
  }
  process.stderr.write(`npm test: installing the missing test tools: ${installCommand(missing)}\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', ...missing], { stdio: 'inherit', env });
  for (const s of SERVICES) {
    try {
      execFileSync('systemctl', ['stop', s], { stdio: 'ignore' });
    } catch {
      // no systemd, or the service is not there: nothing runs to stop
    }
  }
  const still = missingPackages();
  if (still.length > 0) throw new Error(`apt-get did not install ${still.join(', ')}: run \`sudo ${installCommand(still)}\``);
}
