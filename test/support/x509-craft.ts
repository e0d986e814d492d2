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

/** One DER TLV (definite length, X.690 8.1.3). */
function tlv(tag: number, body: Uint8Array): Buffer {
  const len = body.length;
  const head = len < 128 ? [len] : len < 256 ? [0x81, len] : len < 65536 ? [0x82, len >> 8, len & 255] : [0x83, len >> 16, (len >> 8) & 255, len & 255];
  return Buffer.concat([Buffer.from([tag, ...head]), body]);
}
const seq = (...parts: Uint8Array[]) => tlv(0x30, Buffer.concat(parts));
/** A positive INTEGER of exactly `bits` bits (top bit set, odd): a modulus or group parameter in size, nothing more. */
const bigInt = (bits: number) => {
  const bytes = Buffer.alloc(Math.ceil(bits / 8), 0x5a);
  bytes[0] = 0x80 | 0x5a;
  bytes[bytes.length - 1]! |= 1;
  return tlv(0x02, Buffer.concat([Buffer.from([0]), bytes]));
};
const oid = (hex: string) => tlv(0x06, Buffer.from(hex, 'hex'));

/** The SubjectPublicKeyInfo of an RSA key with a `bits`-bit modulus (RFC 8017 A.1.1; never used to verify anything). */
export function rsaSpki(bits: number): Uint8Array {
  const key = seq(bigInt(bits), tlv(0x02, Buffer.from([0x01, 0x00, 0x01])));
  return new Uint8Array(seq(seq(oid('2a864886f70d010101'), Buffer.from([0x05, 0x00])), tlv(0x03, Buffer.concat([Buffer.from([0]), key]))));
}

/** The SubjectPublicKeyInfo of a DSA key with a `pBits`-bit p and `qBits`-bit q (RFC 3279 2.3.2). */
export function dsaSpki(pBits: number, qBits: number): Uint8Array {
  const params = seq(bigInt(pBits), bigInt(qBits), bigInt(pBits - 1));
  return new Uint8Array(seq(seq(oid('2a8648ce380401'), params), tlv(0x03, Buffer.concat([Buffer.from([0]), bigInt(pBits - 1)]))));
}

/**
 * A CA certificate (basicConstraints cA) for the key `spki`, issued by the crafted P-256 key:
 * its own key need not be usable, since only the issuer's signs.
 */
export async function craftCertificateForKey(spki: Uint8Array, name = 'CN=Keyshare Crafted Key CA'): Promise<Uint8Array> {
  x509.cryptoProvider.set(webcrypto as unknown as Crypto);
  keys ??= webcrypto.subtle.generateKey(ECDSA, false, ['sign', 'verify']) as Promise<CryptoKeyPair>;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: '02',
    subject: name,
    issuer: 'CN=Keyshare Crafted CA',
    notBefore: new Date('2025-01-01T00:00:00Z'),
    notAfter: new Date('2045-01-01T00:00:00Z'),
    signingAlgorithm: ECDSA,
    publicKey: new x509.PublicKey(new Uint8Array(spki)),
    signingKey: (await keys).privateKey,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
  });
  return new Uint8Array(cert.rawData);
}

/**
 * Validly signed certificates of `items` 60-byte OCTET STRINGs in each of 60 extensions: with
 * 45 (165 KiB, about 2,900 ASN.1 elements) the crafted certificate that cost the parser a few
 * hundred ms on a busy machine (issue 16), now refused by the element cap of x509-screen.ts;
 * with 12 (about 990 elements) as heavy as a certificate within the caps gets. With
 * `refusable`, one more extension is critical and unrecognised, so that an anchor of it is
 * refused BAD_CERTIFICATE once parsed.
 */
export function slowCertificate(refusable = true, items = 45): Promise<Uint8Array> {
  const value = tlv(0x30, Buffer.concat(Array.from({ length: items }, () => tlv(0x04, Buffer.alloc(60, 7)))));
  const exts: CraftedExtension[] = Array.from({ length: 60 }, (_, i) => ({ oid: `1.3.6.1.4.1.99999.${i}`, critical: false, value: new Uint8Array(value) }));
  if (refusable) exts.push({ oid: '1.3.6.1.4.1.99999.999', critical: true, value: new Uint8Array([5, 0]) });
  return craftCertificate(exts);
}

/** The heaviest slowCertificate within the element cap (x509-screen.ts X509_LIMITS). */
export const HEAVIEST_ADMISSIBLE_ITEMS = 12;

/**
 * A realistic large certificate: a CA (keyUsage, subjectKeyIdentifier) naming `names` DNS
 * hosts in its subjectAltName, as a multi-tenant registry's might (500: about 560 ASN.1
 * elements, 16 KiB).
 */
export async function manyNamesCertificate(names: number): Promise<Uint8Array> {
  x509.cryptoProvider.set(webcrypto as unknown as Crypto);
  keys ??= webcrypto.subtle.generateKey(ECDSA, false, ['sign', 'verify']) as Promise<CryptoKeyPair>;
  const pair = await keys;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '03',
    name: `CN=Keyshare ${names} Names CA, O=Acme`,
    notBefore: new Date('2025-01-01T00:00:00Z'),
    notAfter: new Date('2045-01-01T00:00:00Z'),
    signingAlgorithm: ECDSA,
    keys: pair,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(pair.publicKey),
      new x509.SubjectAlternativeNameExtension(Array.from({ length: names }, (_, i) => ({ type: 'dns' as const, value: `host${i}.registry${i % 7}.example.com` }))),
    ],
  });
  return new Uint8Array(cert.rawData);
}
