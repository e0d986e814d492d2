/** Signing keys in the data dir: keys/root-{i}.pem (to move offline) and the online keys. PKCS#8 PEM, mode 0600. */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { makePrivateDir, writePrivateFile } from '../util/private-files.js';
import { join } from 'node:path';
import { FileSigner, generateSigningKeyPem, type Signer } from '../crypto/signer.js';
import { KeyshareError, Codes } from '../errors.js';

export type OnlineRole = 'targets' | 'snapshot' | 'timestamp';
export const ONLINE_ROLES: OnlineRole[] = ['targets', 'snapshot', 'timestamp'];

export interface OnlineSigners {
  targets: Signer;
  snapshot: Signer;
  timestamp: Signer;
}

export function keysDir(dataDir: string): string {
  return join(dataDir, 'keys');
}

/** Writes a new private key file, never overwriting one (0600: CONTRACT.md "init"). */
export function writeNewKey(path: string, pem: string): void {
  writePrivateFile(path, pem, 'wx');
}

export function generateKeys(dataDir: string, rootKeys: number): { rootPems: string[]; rootPaths: string[] } {
  const dir = keysDir(dataDir);
  makePrivateDir(dir);
  const rootPems: string[] = [];
  const rootPaths: string[] = [];
  for (let i = 1; i <= rootKeys; i++) {
    const pem = generateSigningKeyPem();
    const path = join(dir, `root-${i}.pem`);
    writeNewKey(path, pem);
    rootPems.push(pem);
    rootPaths.push(path);
  }
  for (const role of ONLINE_ROLES) writeNewKey(join(dir, `${role}.pem`), generateSigningKeyPem());
  return { rootPems, rootPaths };
}

export function loadOnlineSigners(dataDir: string): OnlineSigners {
  const load = (role: OnlineRole) => {
    const path = join(keysDir(dataDir), `${role}.pem`);
    if (!existsSync(path)) throw new KeyshareError(Codes.NOT_INITIALIZED, `the ${role} key is missing: ${path}`);
    return new FileSigner(readFileSync(path, 'utf8'));
  };
  return { targets: load('targets'), snapshot: load('snapshot'), timestamp: load('timestamp') };
}

/** Root keys still in the data dir (development set-ups); empty once they were moved offline. */
export function loadRootSigners(dataDir: string): Signer[] {
  const dir = keysDir(dataDir);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /^root-\d+\.pem$/.test(f))
    .sort()
    .map((f) => new FileSigner(readFileSync(join(dir, f), 'utf8')));
}
