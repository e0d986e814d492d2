/**
 * Benchmark state: a data dir with N scopes of one anchor each, built with one `apply`
 * through TrustService (one transaction, one published version). The apply is also B4.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initDataDir, openInstance, tokenPath, rootPath } from '../../service/instance.js';
import type { ApplyFile } from '../../service/trust-service.js';
import type { PublishResult } from '../../service/repo/publisher.js';

export interface BenchState {
  scopes: number;
  dataDir: string;
  token: string;
  rootPath: string;
  /** B4: the apply that built the state. */
  apply: { ms: number; scopesPerSecond: number; versionsPublished: number };
}

/** Distinct public keys, reused round-robin (a key may be an anchor at many scopes). */
export function keyPool(n: number): string[] {
  return Array.from({ length: n }, () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'pem' }).toString());
}

export const scopeName = (i: number) => `r${i}.bench.example`;

export function applyFile(n: number, keys: string[]): ApplyFile {
  return { scopes: Array.from({ length: n }, (_, i) => ({ scope: scopeName(i), anchors: [{ publicKey: keys[i % keys.length]!, name: `key-${i % keys.length}` }] })) };
}

export async function buildState(dataDir: string, n: number, keys: string[]): Promise<BenchState> {
  await initDataDir({ dataDir });
  const instance = await openInstance({ dataDir });
  try {
    const before = instance.publisher.latestMetadata('timestamp')!.version;
    const file = applyFile(n, keys);
    const t0 = performance.now();
    const r = await instance.service.apply(file);
    const ms = performance.now() - t0;
    if (n > 0 && !r.published) throw new Error('apply published nothing');
    const after = instance.publisher.latestMetadata('timestamp')!.version;
    return {
      scopes: n,
      dataDir,
      token: readFileSync(tokenPath(dataDir), 'utf8').trim(),
      rootPath: rootPath(dataDir),
      apply: { ms, scopesPerSecond: n / (ms / 1000), versionsPublished: after - before },
    };
  } finally {
    await instance.close();
  }
}

export interface SingleChange {
  rolesSigned: string[];
  bytesWritten: number;
  documentsChanged: number;
  /** The snapshot's bytes: the one thing a change writes that grows with the number of bins (issue 17). */
  snapshotBytes: number;
  /** The bytes of each role signed, by role name; the rest of bytesWritten is target files. */
  roleBytes: Record<string, number>;
  ms: number;
}

/** B3: one scoped revocation through TrustService; what its publish signed and wrote. */
export async function singleChange(dataDir: string, scope: string): Promise<SingleChange> {
  const instance = await openInstance({ dataDir });
  try {
    const t0 = performance.now();
    const r = await instance.service.revoke({ kind: 'key', id: `sha256:${randomBytes(32).toString('hex')}`, scope, reason: 'keyCompromise' });
    const ms = performance.now() - t0;
    const p: PublishResult | null = r.published;
    if (!p) throw new Error('the revocation published nothing');
    const roleBytes = Object.fromEntries(p.rolesSigned.map((role) => [role, instance.publisher.latestMetadata(role)!.bytes.length]));
    return { rolesSigned: p.rolesSigned, bytesWritten: p.bytesWritten, documentsChanged: p.documentsChanged, snapshotBytes: roleBytes.snapshot!, roleBytes, ms };
  } finally {
    await instance.close();
  }
}

export const readToken = (dataDir: string) => readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
