/** Trust documents built from the fixtures, for the format writer tests. */
import { X509Certificate, createHash, createPublicKey } from 'node:crypto';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as openpgp from 'openpgp';
import { readFixtureText } from '../../../fixtures/index.js';
import { TRUST_MEDIA_TYPE, type Level, type TrustAnchor, type TrustDocument } from '../../../service/domain/types.js';
import type { OutputFile } from '../../../sync/formats/index.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export function certAnchor(
  fixture: string,
  type: 'ca' | 'signingAuthority' | 'tsa',
  name: string,
  trustedIdentities?: string[],
): TrustAnchor {
  const pem = readFixtureText(`certs/${fixture}.pem`);
  const anchor: TrustAnchor = {
    id: `sha256:${sha256(new X509Certificate(pem).raw)}`,
    name,
    type,
    certificate: pem,
    definedAt: 'registry.acme.io',
  };
  if (trustedIdentities) anchor.trustedIdentities = trustedIdentities;
  return anchor;
}

export function keyAnchor(fixture: string, name: string): TrustAnchor {
  const pem = readFixtureText(`keys/${fixture}.pub.pem`);
  const der = createPublicKey(pem).export({ type: 'spki', format: 'der' });
  return { id: `sha256:${sha256(der)}`, name, type: 'publicKey', publicKey: pem, definedAt: 'registry.acme.io' };
}

export async function pgpAnchor(fixture: 'release' | 'second', name: string): Promise<TrustAnchor> {
  const armored = readFixtureText(`pgp/${fixture}.pub.asc`);
  const key = await openpgp.readKey({ armoredKey: armored });
  return { id: `pgp:${key.getFingerprint()}`, name, type: 'pgp', publicKey: armored, definedAt: 'registry.acme.io' };
}

export function doc(scope: string, anchors: TrustAnchor[], level: Level = 'strict'): TrustDocument {
  return {
    mediaType: TRUST_MEDIA_TYPE,
    scope,
    version: 3,
    issuedAt: '2026-11-27T12:00:00Z',
    level,
    inherit: true,
    anchors,
    revoked: { certificates: [], keys: [], signatures: [] },
    crls: [],
  };
}

export function fileMap(files: OutputFile[]): Map<string, string | Uint8Array> {
  return new Map(files.map((f) => [f.path, f.content]));
}

export function text(files: OutputFile[], path: string): string {
  const content = fileMap(files).get(path);
  if (typeof content !== 'string') throw new Error(`no text file ${path}`);
  return content;
}

/** Writes the files to a fresh directory (as fetch would, after staging) and returns it. */
export function materialize(files: OutputFile[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'keyshare-formats-'));
  for (const f of files) {
    const target = join(dir, ...f.path.split('/'));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, f.content);
  }
  return dir;
}

/**
 * `s` (JSON text) with the fixtures' certificates and keys named instead: their key material
 * changes when the fixtures are regenerated, so golden files hold names.
 */
export function redactFixtures(s: string): string {
  for (const name of ['root-ca', 'intermediate-ca', 'tsa-ca', 'leaf']) {
    const a = certAnchor(name, 'ca', name);
    const b64 = new X509Certificate(a.certificate!).raw.toString('base64');
    const pem = JSON.stringify(a.certificate!.trim() + '\n').slice(1, -1);
    s = s.replaceAll(pem, `<PEM certs/${name}.pem>\\n`).replaceAll(b64, `<DER certs/${name}.pem>`).replaceAll(a.id, `<ID certs/${name}.pem>`);
  }
  for (const name of ['ec-p256', 'rsa-2048']) {
    const k = keyAnchor(name, name);
    s = s.replaceAll(JSON.stringify(k.publicKey!.trim() + '\n').slice(1, -1), `<PEM keys/${name}.pub.pem>\\n`).replaceAll(k.id, `<ID keys/${name}.pub.pem>`);
    s = s.replaceAll(`_${k.id.slice(7, 19)}.`, `_<ID12 keys/${name}.pub.pem>.`); // file names (names.ts anchorFileBase)
  }
  return s;
}
