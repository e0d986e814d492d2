import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SYSTEM_PACKAGES, installCommand, missingPackages, toolPath } from '../support/system-tools.js';

describe('the system tools npm test needs', () => {
  it('are the packages .ci/run installs', () => {
    const ci = readFileSync(new URL('../../.ci/run', import.meta.url), 'utf8');
    const listed = /apt_packages=\(([^)]*)\)/.exec(ci)?.[1]?.trim().split(/\s+/) ?? [];
    expect([...SYSTEM_PACKAGES].sort()).toEqual(listed.sort());
  });

  it('names every package whose files are missing, and none when all are there', () => {
    expect(missingPackages(() => true)).toEqual([]);
    expect(missingPackages((f) => !f.includes('nginx') && !f.endsWith('/gpg'))).toEqual(['gnupg', 'nginx']);
    expect(installCommand(['gnupg', 'nginx'])).toBe('apt-get install -y gnupg nginx');
    // SoftHSM counts as installed only with the PKCS#11 module the tests load, not softhsm2-util alone.
    expect(missingPackages((f) => !f.endsWith('libsofthsm2.so'))).toEqual(['softhsm2']);
    expect(toolPath('softhsm2', (f) => f.endsWith('/usr/bin/softhsm2-util'))).toBeNull();
  });

  it('are all installed on this machine (the global setup installs or stops the run first)', () => {
    expect(missingPackages()).toEqual([]);
  });
});
