/**
 * Issue 16, finding 4: a PKCS#11 URI's pin-source is read only after the module allow-list is
 * checked, only from a regular file of at most 1 KiB (O_NOFOLLOW), with one error for every
 * failure. `pin-source=/dev/zero` once killed the process with std::bad_alloc.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertModuleAllowed, parsePkcs11Uri } from '../../../service/crypto/pkcs11.js';
import { openInstance, type Instance } from '../../../service/instance.js';
import { appApi, cleanupTempDirs, newDataDir, tempDir } from '../../support/service.js';

const MODULE = '/usr/lib/softhsm/libsofthsm2.so';
const env = { KEYSHARE_PKCS11_MODULE: MODULE };
const uri = (pinSource: string, module = MODULE) => `pkcs11:token=keyshare;object=timestamp-2?module-path=${module}&pin-source=${pinSource}`;

let dir: string;
const bad: [string, () => string][] = [
  ['/dev/zero', () => '/dev/zero'],
  ['a FIFO', () => join(dir, 'fifo')],
  ['a symlink to a PIN file', () => join(dir, 'link')],
  ['a directory', () => join(dir, 'sub')],
  ['a missing file', () => join(dir, 'missing')],
  ['a file over 1 KiB', () => join(dir, 'big')],
];

beforeAll(() => {
  dir = tempDir();
  writeFileSync(join(dir, 'pin'), '1234\n');
  writeFileSync(join(dir, 'big'), '1'.repeat(2048));
  symlinkSync(join(dir, 'pin'), join(dir, 'link'));
  mkdirSync(join(dir, 'sub'));
  execFileSync('mkfifo', [join(dir, 'fifo')]);
});

describe('when a pin-source is not a small regular file', () => {
  it('reads a regular PIN file', () => {
    expect(parsePkcs11Uri(uri(join(dir, 'pin')), env).pin).toBe('1234');
  });

  it('gives the same refusal for each, without blocking or crashing', () => {
    const messages = new Set<string>();
    for (const [, path] of bad) {
      try {
        parsePkcs11Uri(uri(path()), env);
        expect.fail(`${path()} was read`);
      } catch (e: any) {
        expect(e.code).toBe('PKCS11_URI_INVALID');
        messages.add(e.message);
      }
    }
    expect([...messages]).toHaveLength(1);
    expect([...messages][0]).not.toContain(dir);
  });

  it('checks the module allow-list before reading anything', () => {
    expect(() => assertModuleAllowed(uri('/dev/zero', '/tmp/evil.so'), env)).toThrow(expect.objectContaining({ code: 'PKCS11_MODULE_NOT_ALLOWED' }));
  });
});

describe('over the admin API', () => {
  let instance: Instance;
  let app: ReturnType<typeof appApi>;
  beforeAll(async () => {
    const d = await newDataDir();
    instance = await openInstance({ dataDir: d.dataDir });
    app = appApi(instance, d.token);
  });
  afterAll(async () => {
    await instance?.close();
    cleanupTempDirs();
  });

  it('refuses key rotation to a URI with pin-source=/dev/zero, and the service stays up', async () => {
    process.env.KEYSHARE_PKCS11_MODULE = MODULE;
    try {
      for (const [, path] of bad) {
        const res = await app.api('POST', '/keys/timestamp/rotate', { pkcs11: uri(path()) });
        expect(res.status).toBe(400);
        expect(res.body.code).toBe('PKCS11_URI_INVALID');
      }
      const other = await app.api('POST', '/keys/timestamp/rotate', { pkcs11: uri('/dev/zero', '/tmp/evil.so') });
      expect(other.body.code).toBe('PKCS11_MODULE_NOT_ALLOWED');
    } finally {
      delete process.env.KEYSHARE_PKCS11_MODULE;
    }
    expect((await app.app.request('/healthz')).status).toBe(200);
  });
});
