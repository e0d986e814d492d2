/**
 * KEYSHARE_PKCS11_MODULES and KEYSHARE_PKCS11_PIN (docs: `key rotate --help`, `init --pkcs11`),
 * which had no test (issue 24 test audit): the modules an admin API request may name, and the
 * PIN a URI without one gets. The token itself is driven in test/e2e/pkcs11-signing.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { assertModuleAllowed, parsePkcs11Uri } from '../../../service/crypto/pkcs11.js';

const URI = (module: string) => `pkcs11:token=keyshare;object=timestamp?module-path=${encodeURIComponent(module)}`;

describe('KEYSHARE_PKCS11_MODULES', () => {
  it('allows any of the ":"-separated modules, and KEYSHARE_PKCS11_MODULE', () => {
    const env = { KEYSHARE_PKCS11_MODULES: '/opt/hsm/a.so:/opt/hsm/b.so', KEYSHARE_PKCS11_MODULE: '/opt/hsm/c.so' };
    for (const m of ['/opt/hsm/a.so', '/opt/hsm/b.so', '/opt/hsm/c.so']) expect(() => assertModuleAllowed(URI(m), env)).not.toThrow();
  });

  it('refuses a module that neither names, with PKCS11_MODULE_NOT_ALLOWED', () => {
    const refuse = (env: NodeJS.ProcessEnv) => {
      try {
        assertModuleAllowed(URI('/tmp/evil.so'), env);
        return null;
      } catch (e) {
        return (e as { code?: string }).code;
      }
    };
    expect(refuse({ KEYSHARE_PKCS11_MODULES: '/opt/hsm/a.so:/opt/hsm/b.so' })).toBe('PKCS11_MODULE_NOT_ALLOWED');
    // An empty entry (a trailing ":") allows nothing more.
    expect(refuse({ KEYSHARE_PKCS11_MODULES: '/opt/hsm/a.so:' })).toBe('PKCS11_MODULE_NOT_ALLOWED');
    expect(refuse({})).toBe('PKCS11_MODULE_NOT_ALLOWED');
  });
});

describe('KEYSHARE_PKCS11_PIN', () => {
  it('is the PIN of a URI that gives none, and a pin-value in the URI wins', () => {
    const env = { KEYSHARE_PKCS11_PIN: '4321' };
    expect(parsePkcs11Uri(URI('/opt/hsm/a.so'), env).pin).toBe('4321');
    expect(parsePkcs11Uri(`${URI('/opt/hsm/a.so')}&pin-value=1234`, env).pin).toBe('1234');
    expect(parsePkcs11Uri(URI('/opt/hsm/a.so'), {}).pin).toBeUndefined();
  });
});
