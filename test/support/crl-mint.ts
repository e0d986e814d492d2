/**
 * Test support: fresh CRLs of the fixture intermediate CA, signed with its key
 * (fixtures/certs/intermediate-ca.key.pem), with any CRL number: for tests that add many
 * CRLs in a row (RFC 5280 5.2.3: each number greater than the last).
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { randomBytes, webcrypto } from 'node:crypto';
import { readFixtureText } from '../../fixtures/index.js';

const crypto = webcrypto as unknown as Crypto;
x509.cryptoProvider.set(crypto);
const ECDSA_P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

function pemBody(label: string, text: string): Uint8Array<ArrayBuffer> {
  const m = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`).exec(text);
  if (!m) throw new Error(`no ${label} block`);
  return new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'));
}

let ca: Promise<{ cert: x509.X509Certificate; privateKey: CryptoKey; publicKey: CryptoKey }> | null = null;

function loadCa() {
  ca ??= (async () => {
    const cert = new x509.X509Certificate(readFixtureText('certs/intermediate-ca.pem'));
    const privateKey = await crypto.subtle.importKey('pkcs8', pemBody('PRIVATE KEY', readFixtureText('certs/intermediate-ca.key.pem')), { name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign']);
    const publicKey = await cert.publicKey.export(ECDSA_P256, ['verify'], crypto);
    return { cert, privateKey, publicKey };
  })();
  return ca;
}

/** The PEM of the CA that signs these CRLs: add it as a `ca` anchor first. */
export const CRL_CA_PEM = () => readFixtureText('certs/intermediate-ca.pem');

/**
 * A DER CRL of the intermediate CA with CRL number `n`, valid from an hour ago for a week,
 * revoking `revoked` random serials, or the serials (hex) given.
 */
export async function mintCrl(n: number, revoked: number | string[] = 1): Promise<Buffer> {
  const issuer = await loadCa();
  let hex = n.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  if (parseInt(hex.slice(0, 2), 16) & 0x80) hex = `00${hex}`;
  const content = Buffer.from(hex, 'hex');
  const now = Date.now();
  const crl = await x509.X509CrlGenerator.create({
    issuer: issuer.cert.subjectName,
    thisUpdate: new Date(now - 3600_000),
    nextUpdate: new Date(now + 7 * 86_400_000),
    extensions: [await x509.AuthorityKeyIdentifierExtension.create(issuer.publicKey), new x509.Extension('2.5.29.20', false, new Uint8Array([0x02, content.length, ...content]))],
    entries: (typeof revoked === 'number' ? Array.from({ length: revoked }, () => `7${randomBytes(8).toString('hex')}`) : revoked).map((serialNumber) => ({
      serialNumber,
      revocationDate: new Date(now - 60_000),
      reason: x509.X509CrlReason.keyCompromise,
    })),
    signingAlgorithm: ECDSA_P256,
    signingKey: issuer.privateKey,
  });
  return Buffer.from(crl.rawData);
}
