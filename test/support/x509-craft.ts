/**
 * Crafted certificates for the X.509 bomb tests (issue 16, finding 1): validly self-signed
 * (ECDSA P-256, a CA valid 2025-2045) but carrying whatever extensions the test gives.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

export interface CraftedExtension {
  oid: string;
  critical: boolean;
  value: Uint8Array;
}

const ECDSA = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
let keys: Promise<CryptoKeyPair> | null = null;

/** DER nested `depth` deep (SEQUENCE in SEQUENCE ...), with long-form lengths. */
export function nestedDer(depth: number, tag = 0x30): Uint8Array {
  let inner: Buffer = Buffer.from([0x05, 0x00]);
  for (let i = 0; i < depth; i++) {
    const len = inner.length;
    const head = len < 128 ? Buffer.from([tag, len]) : len < 256 ? Buffer.from([tag, 0x81, len]) : len < 65536 ? Buffer.from([tag, 0x82, len >> 8, len & 255]) : Buffer.from([tag, 0x83, len >> 16, (len >> 8) & 255, len & 255]);
    inner = Buffer.concat([head, inner]);
  }
  return new Uint8Array(inner);
}

/** The DER of a self-signed CA certificate (basicConstraints cA, critical) with `exts` after it. */
export async function craftCertificate(exts: CraftedExtension[]): Promise<Uint8Array> {
  x509.cryptoProvider.set(webcrypto as unknown as Crypto);
  keys ??= webcrypto.subtle.generateKey(ECDSA, false, ['sign', 'verify']) as Promise<CryptoKeyPair>;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=Keyshare Crafted CA',
    notBefore: new Date('2025-01-01T00:00:00Z'),
    notAfter: new Date('2045-01-01T00:00:00Z'),
    signingAlgorithm: ECDSA,
    keys: await keys,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), ...exts.map((e) => new x509.Extension(e.oid, e.critical, new Uint8Array(e.value)))],
  });
  return new Uint8Array(cert.rawData);
}

export function certificatePem(der: Uint8Array): string {
  return `-----BEGIN CERTIFICATE-----\n${Buffer.from(der).toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
}
