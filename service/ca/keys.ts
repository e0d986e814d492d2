/**
 * Where the signing authorities' private keys live: `<data>/keys/ca-NAME.pem` (PKCS#8, 0600,
 * beside the TUF online keys, so that `keyshare backup` carries them), `<data>/keys/ca-NAME-root.pem`
 * for the root keyshare made (to move offline, like the TUF root keys), or a PKCS#11 token
 * named by the record's URI. Replicas share them the way they share the online keys: a copy of
 * the keys, or the same HSM.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { openCaKey, type CaKey } from '../crypto/ca-key.js';
import { KeyshareError, CaCodes, isKeyshareError } from '../errors.js';
import { keysDir, writeNewKey } from '../repo/keys.js';
import type { CaRecord } from '../store/index.js';

export const caKeyPath = (dataDir: string, name: string, role: 'issuing' | 'root' = 'issuing') => join(keysDir(dataDir), role === 'root' ? `ca-${name}-root.pem` : `ca-${name}.pem`);

/** Writes a new CA key file (0600, never over an existing one); returns its path. */
export function writeCaKey(dataDir: string, name: string, role: 'issuing' | 'root', pem: string): string {
  mkdirSync(keysDir(dataDir), { recursive: true, mode: 0o700 });
  const path = caKeyPath(dataDir, name, role);
  try {
    writeNewKey(path, pem);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new KeyshareError(CaCodes.CA_EXISTS, `${path} exists: a CA named ${name} was made here before`);
    throw e;
  }
  return path;
}

/** Removes the key files of a CA whose creation failed (nothing half-written stays). */
export function removeCaKeys(paths: string[]): void {
  for (const p of paths) rmSync(p, { force: true });
}

/** The open keys of the signing authorities, one per CA, opened on first use and kept. */
export class CaKeys {
  private readonly open = new Map<string, Promise<CaKey>>();
  /** Root keys opened for a CRL, closed with the rest. */
  private readonly roots: CaKey[] = [];

  constructor(private readonly dataDir: string) {}

  /** The CA's signing key; CA_KEY_UNAVAILABLE when this process has neither its file nor its token. */
  get(rec: Pick<CaRecord, 'name' | 'keyRef'>): Promise<CaKey> {
    let key = this.open.get(rec.name);
    if (!key) {
      key = this.load(rec);
      this.open.set(rec.name, key);
      // A failure (file not yet copied, HSM down) is not remembered: the next call tries again.
      key.catch(() => this.open.delete(rec.name));
    }
    return key;
  }

  private async load(rec: Pick<CaRecord, 'name' | 'keyRef'>): Promise<CaKey> {
    const unavailable = (why: string, cause?: unknown) =>
      new KeyshareError(CaCodes.CA_KEY_UNAVAILABLE, `the key of signing authority ${rec.name} is not available here: ${why} (docs/DEPLOYMENT.md, "Signing authorities")`, { cause });
    if (rec.keyRef === 'file') {
      const path = caKeyPath(this.dataDir, rec.name);
      if (!existsSync(path)) throw unavailable(`${path} is missing`);
      return openCaKey({ pem: readFileSync(path, 'utf8') });
    }
    try {
      return await openCaKey({ uri: rec.keyRef });
    } catch (e) {
      throw unavailable(isKeyshareError(e) ? `${e.code}: ${e.message}` : String(e), e);
    }
  }

  /** The key of the root keyshare made for a CA, while its file is in the data dir; null once it was moved offline. */
  async root(rec: Pick<CaRecord, 'name'>): Promise<CaKey | null> {
    const path = caKeyPath(this.dataDir, rec.name, 'root');
    if (!existsSync(path)) return null;
    const key = await openCaKey({ pem: readFileSync(path, 'utf8') });
    this.roots.push(key);
    return key;
  }

  /** Drops (and closes) a CA's key: its creation failed, the key is not the CA's. */
  async forget(name: string): Promise<void> {
    const key = this.open.get(name);
    this.open.delete(name);
    (await key?.catch(() => null))?.close();
  }

  async close(): Promise<void> {
    const keys = [...this.open.values()];
    this.open.clear();
    for (const k of this.roots.splice(0)) k.close();
    for (const k of keys) (await k.catch(() => null))?.close();
  }
}
