/**
 * Signing authorities (issue 18) through the admin API without a socket: refusals with their
 * codes that change nothing, signer token bounds, `ca import`, CRLs re-signed on revocation and
 * at half-life, the TSA's refusals, and a CA key in SoftHSM2 signing certificates and CRLs that
 * openssl accepts. Runs on both databases.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createPublicKey, webcrypto } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTool } from '../../support/system-tools.js';
import { openInstance, type Instance } from '../../../service/instance.js';
import { generateKeyAndCsr } from '../../../service/crypto/ca.js';
import { caKeyPath } from '../../../service/ca/keys.js';
import { RateLimiter } from '../../../service/domain/ca.js';
import { parseDuration } from '../../../service/util/duration.js';
import { appApi, cleanupTempDirs, newDataDir, tempDir, type Api } from '../../support/service.js';

const TEAM_A = 'registry.acme.io/team-a';
const TEAM_B = 'registry.acme.io/team-b';
const subtle = webcrypto.subtle as unknown as SubtleCrypto;
const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };

let instance: Instance;
let dataDir: string;
let admin: Api;
/** The service's clock runs this far ahead of the real one (to reach a CRL's half-life). */
let ahead = 0;
/** When set, the service's clock stands still here (so that a token bucket does not refill). */
let frozen: Date | null = null;
const as = (token: string) => appApi(instance, token).api;
const token = async (body: Record<string, unknown>) => {
  const r = await admin('POST', '/tokens', body);
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body.token as string;
};

/** A CSR signed by `keys` (default: a fresh key), with `extensions`. */
async function csrWith(options: { keys?: CryptoKeyPair; extensions?: x509.Extension[] } = {}): Promise<string> {
  const keys = options.keys ?? ((await subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=x', keys, signingAlgorithm: EC, extensions: options.extensions ?? [] });
  return csr.toString('pem');
}

beforeAll(async () => {
  const dir = await newDataDir();
  dataDir = dir.dataDir;
  // `serve --crl-validity 20h`: the CRLs' nextUpdate, and their half-life re-signing (below), follow it.
  instance = await openInstance({ dataDir, clock: () => frozen ?? new Date(Date.now() + ahead), crlValidityMs: 20 * 3600_000 });
  admin = appApi(instance, dir.token).api;
  for (const scope of [TEAM_A, TEAM_B]) expect((await admin('POST', '/scopes', { scope })).status).toBe(201);
  for (const [name, scope] of [['release', TEAM_A], ['team-b', TEAM_B]]) {
    const r = await admin('POST', '/ca', { name, scopes: [scope], subject: 'C=US, ST=WA, O=Acme', ...(name === 'team-b' ? { validity: '2y' } : {}) });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
  }
}, 60_000);
afterAll(async () => {
  await instance?.close();
  cleanupTempDirs();
});

describe('when a signing authority is created', () => {
  it('adds root and issuing CA as ca anchors with the trusted identity, the TSA root as tsa, and a first CRL', async () => {
    const { body: ca } = await admin('GET', '/ca/release');
    expect(ca).toMatchObject({ name: 'release', scopes: [TEAM_A], key: 'file', trustedIdentity: 'x509.subject: C=US, ST=WA, O=Acme', crl: { crlNumber: '1' } });
    const anchors = await instance.store.listAnchors([TEAM_A]);
    expect(anchors.map((a) => [a.name, a.type]).sort()).toEqual([['keyshare-tsa', 'tsa'], ['release', 'ca'], ['release-root', 'ca']]);
    expect(anchors.find((a) => a.name === 'release')!.trustedIdentities).toEqual(['x509.subject: C=US, ST=WA, O=Acme']);
    expect((await instance.store.getCrl(ca.id))?.crlNumber).toBe('1');
    expect(Date.parse(ca.crl.nextUpdate) - Date.parse(ca.crl.thisUpdate)).toBe(20 * 3600_000);
    // --validity: default 5y; the root keyshare makes lives twice as long.
    const span = (pem: string) => ((c) => c.notAfter.getTime() - c.notBefore.getTime())(new x509.X509Certificate(pem));
    for (const [name, validity] of [['release', '5y'], ['team-b', '2y']]) {
      const rec = (await instance.store.getCa(name!))!;
      expect([span(rec.certificate), span(rec.root!)], name).toEqual([parseDuration(validity!), 2 * parseDuration(validity!)]);
    }
    // The root key is in the data dir, 0600, to move offline; the TSA's too.
    for (const f of [caKeyPath(dataDir, 'release', 'root'), caKeyPath(dataDir, 'release'), caKeyPath(dataDir, 'tsa')]) {
      expect(existsSync(f)).toBe(true);
      expect(execFileSync('stat', ['-c', '%a', f], { encoding: 'utf8' }).trim()).toBe('600');
    }
    expect((await admin('GET', '/ca')).body.cas.map((c: { name: string }) => c.name)).toEqual(['release', 'team-b']);
  });

  it('refuses a taken or bad name, a scope that does not exist, and a non-admin, writing no key', async () => {
    expect((await admin('POST', '/ca', { name: 'release', scopes: [TEAM_A] })).body.code).toBe('CA_EXISTS');
    expect((await admin('POST', '/ca', { name: 'Bad Name', scopes: [TEAM_A] })).body.code).toBe('CA_NAME_INVALID');
    expect((await admin('POST', '/ca', { name: 'tsa', scopes: [TEAM_A] })).body.code).toBe('CA_NAME_INVALID');
    expect((await admin('POST', '/ca', { name: 'nowhere', scopes: ['registry.acme.io/none'] })).body.code).toBe('SCOPE_NOT_FOUND');
    expect((await admin('POST', '/ca', { name: 'nosubject', scopes: [TEAM_A], subject: 'O=Acme' })).body.code).toBe('IDENTITY_INVALID');
    const editor = await token({ role: 'editor', scopes: [TEAM_A] });
    expect((await as(editor)('POST', '/ca', { name: 'mine', scopes: [TEAM_A] })).status).toBe(403);
    for (const n of ['nowhere', 'nosubject', 'mine']) expect(existsSync(caKeyPath(dataDir, n))).toBe(false);
    expect((await admin('GET', '/ca/nowhere')).body.code).toBe('CA_NOT_FOUND');
  });

  it('imports an openssl CA with its key, and refuses a key that is not the certificate\'s', async () => {
    const dir = tempDir('keyshare-ca-import-');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384', '-nodes', '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.pem'), '-days', '30', '-subj', '/CN=legacy CA/O=Acme', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], { stdio: 'ignore' });
    const certificate = readFileSync(join(dir, 'ca.pem'), 'utf8');
    const other = (await generateKeyAndCsr()).keyPem;
    expect((await admin('POST', '/ca', { name: 'legacy', scopes: [TEAM_B], certificate, key: { pem: other } })).body.code).toBe('CA_KEY_MISMATCH');
    expect(existsSync(caKeyPath(dataDir, 'legacy'))).toBe(false);
    const r = await admin('POST', '/ca', { name: 'legacy', scopes: [TEAM_B], certificate, key: { pem: readFileSync(join(dir, 'ca.key'), 'utf8') } });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body).toMatchObject({ root: null, subject: 'CN=legacy CA, O=Acme', crl: { crlNumber: '1' } });
    const signer = await token({ role: 'signer', scopes: [TEAM_B], ca: 'legacy' });
    const issued = await as(signer)('POST', '/ca/legacy/certificates', { csr: (await generateKeyAndCsr()).csrPem });
    expect(issued.status, JSON.stringify(issued.body)).toBe(201);
    writeFileSync(join(dir, 'leaf.pem'), issued.body.certificate);
    const v = spawnSync('openssl', ['verify', '-CAfile', join(dir, 'ca.pem'), join(dir, 'leaf.pem')], { encoding: 'utf8' });
    expect(v.status, v.stdout + v.stderr).toBe(0);
  });
});

describe('when CI asks for a certificate', () => {
  let signer: string;
  beforeAll(async () => {
    signer = await token({ role: 'signer', scopes: [TEAM_A], ca: 'release', maxValidity: '15m' });
  });

  it('issues to a signer token within its scopes and CA, at most its max validity, and audits it', async () => {
    const { csrPem } = await generateKeyAndCsr();
    const r = await as(signer)('POST', '/ca/release/certificates', { csr: csrPem, identity: 'CN=ci:release, OU=team-a' });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(Date.parse(r.body.notAfter) - Date.parse(r.body.notBefore)).toBe(10 * 60_000);
    expect(r.body.subject).toMatch(/^C=US, ST=WA, O=Acme, OU=team-a, 2\.5\.4\.5=token:[0-9a-f]{12}, CN=ci:release$/);
    expect(r.body.chain.match(/BEGIN CERTIFICATE/g)).toHaveLength(3);
    const entries = await instance.audit.list();
    const entry = entries.find((e) => e.action === 'ca.issue' && e.target?.endsWith(`/${r.body.serial}`));
    expect(entry?.details).toMatchObject({ ca: 'release', serial: r.body.serial, subject: r.body.subject, notAfter: r.body.notAfter });
    expect(entry?.details?.csrKeyId).toMatch(/^sha256:[0-9a-f]{64}$/);
    const full = await as(signer)('POST', '/ca/release/certificates', { csr: csrPem, validity: '15m' });
    expect(full.status).toBe(201);
  });

  it('refuses each bad request with its code, changing nothing', async () => {
    const { csrPem } = await generateKeyAndCsr();
    const caKeyPem = readFileSync(caKeyPath(dataDir, 'release'), 'utf8');
    const caPrivate = await subtle.importKey('pkcs8', Buffer.from(caKeyPem.replace(/-----[^-]+-----|\s/g, ''), 'base64'), EC, true, ['sign']);
    const caJwk = await subtle.exportKey('jwk', caPrivate);
    const caPublic = await subtle.importKey('jwk', { kty: caJwk.kty, crv: caJwk.crv, x: caJwk.x, y: caJwk.y }, EC, true, ['verify']);
    const der = x509.PemConverter.decode(csrPem)[0]!;
    const tampered = new Uint8Array(der);
    tampered[tampered.length - 3] ^= 0xff;
    const editor = await token({ role: 'editor', scopes: [TEAM_A] });
    const reader = await token({ role: 'reader' });
    const outsider = await token({ role: 'signer', scopes: [TEAM_B] });
    const otherCa = await token({ role: 'signer', scopes: [TEAM_A, TEAM_B], ca: 'team-b' });
    const before = { audit: (await instance.audit.list()).filter((e) => e.action === 'ca.issue' && e.outcome === 'ok').length, crl: (await instance.store.getCrl((await admin('GET', '/ca/release')).body.id))!.crlNumber };
    const cases: [string, Api, Record<string, unknown>, number, string][] = [
      ['a CSR whose signature does not verify', as(signer), { csr: x509.PemConverter.encode(tampered.buffer, 'CERTIFICATE REQUEST') }, 400, 'CSR_BAD_SIGNATURE'],
      ['a CSR with the CA key', as(signer), { csr: await csrWith({ keys: { privateKey: caPrivate, publicKey: caPublic } }) }, 400, 'CSR_CA_KEY'],
      ['a CSR asking for a CA', as(signer), { csr: await csrWith({ extensions: [new x509.BasicConstraintsExtension(true, undefined, true)] }) }, 400, 'CSR_CA_KEY'],
      ['a validity over the maximum', as(signer), { csr: csrPem, validity: '16m' }, 400, 'VALIDITY_TOO_LONG'],
      ['a signer outside its scopes', as(outsider), { csr: csrPem }, 403, 'FORBIDDEN'],
      ['a signer bound to another CA', as(otherCa), { csr: csrPem }, 403, 'FORBIDDEN'],
      ['an editor token', as(editor), { csr: csrPem }, 403, 'FORBIDDEN'],
      ['a reader token', as(reader), { csr: csrPem }, 403, 'FORBIDDEN'],
      ['1 MB of junk as a CSR', as(signer), { csr: 'A'.repeat(1024 * 1024) }, 413, 'CSR_TOO_LARGE'],
      ['junk as a CSR', as(signer), { csr: 'not a csr' }, 400, 'CSR_INVALID'],
      ['an RSA key under 2048 bits (notation)', as(signer), { csr: execFileSync('openssl', ['req', '-new', '-newkey', 'rsa:1024', '-nodes', '-keyout', '/dev/null', '-subj', '/CN=x'], { encoding: 'utf8' }) }, 400, 'CSR_KEY_UNSUPPORTED'],
      ['an ECDSA key on a curve notation does not take', as(signer), { csr: execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:secp256k1', '-nodes', '-keyout', '/dev/null', '-subj', '/CN=x'], { encoding: 'utf8' }) }, 400, 'CSR_KEY_UNSUPPORTED'],
      ['an identity naming O', as(signer), { csr: csrPem, identity: 'CN=x, O=Evil' }, 400, 'IDENTITY_INVALID'],
    ];
    for (const [what, api, body, status, code] of cases) {
      const r = await api('POST', '/ca/release/certificates', body);
      expect([r.status, r.body.code], what).toEqual([status, code]);
    }
    expect((await as(signer)('POST', '/ca/nope/certificates', { csr: csrPem })).body.code).toBe('CA_NOT_FOUND');
    const after = { audit: (await instance.audit.list()).filter((e) => e.action === 'ca.issue' && e.outcome === 'ok').length, crl: (await instance.store.getCrl((await admin('GET', '/ca/release')).body.id))!.crlNumber };
    expect(after).toEqual(before);
  });

  it('issues to every key notation takes (RSA >= 2048, ECDSA P-256/384/521), the certificate carrying that key', async () => {
    // checkCsrKey's allow-list (service/crypto/ca.ts): RSA 2048-8192 bits and ECDSA on P-256/384/521; Ed25519 is not one (notation).
    const dir = tempDir('keyshare-ca-keys-');
    const kinds: [string, string[], Record<string, unknown>][] = [
      ['rsa-2048', ['-newkey', 'rsa:2048'], { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048 }],
      ['rsa-3072', ['-newkey', 'rsa:3072'], { name: 'RSASSA-PKCS1-v1_5', modulusLength: 3072 }],
      ['p-256', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], { name: 'ECDSA', namedCurve: 'P-256' }],
      ['p-384', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384'], { name: 'ECDSA', namedCurve: 'P-384' }],
      ['p-521', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-521'], { name: 'ECDSA', namedCurve: 'P-521' }],
    ];
    for (const [kind, newKey, algorithm] of kinds) {
      const key = join(dir, `${kind}.key`);
      const csr = execFileSync('openssl', ['req', '-new', ...newKey, '-nodes', '-keyout', key, '-subj', '/CN=x'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      const r = await as(signer)('POST', '/ca/release/certificates', { csr });
      expect(r.status, `${kind}: ${JSON.stringify(r.body)}`).toBe(201);
      const leaf = new x509.X509Certificate(r.body.certificate);
      expect(leaf.publicKey.algorithm, kind).toMatchObject(algorithm);
      const spki = createPublicKey(readFileSync(key, 'utf8')).export({ type: 'spki', format: 'der' });
      expect(Buffer.from(leaf.publicKey.rawData).equals(spki), kind).toBe(true);
      writeFileSync(join(dir, `${kind}.crt`), r.body.certificate);
      writeFileSync(join(dir, `${kind}-cas.pem`), r.body.chain.slice(r.body.chain.indexOf('-----END CERTIFICATE-----') + 26));
      const v = spawnSync('openssl', ['verify', '-CAfile', join(dir, `${kind}-cas.pem`), join(dir, `${kind}.crt`)], { encoding: 'utf8' });
      expect(v.status, `${kind}: ${v.stdout}${v.stderr}`).toBe(0);
    }
  });

  it('bounds signer tokens when they are created', async () => {
    expect((await admin('POST', '/tokens', { role: 'signer' })).body.code).toBe('BAD_REQUEST');
    expect((await admin('POST', '/tokens', { role: 'editor', scopes: [TEAM_A], ca: 'release' })).body.code).toBe('BAD_REQUEST');
    const r = await admin('POST', '/tokens', { role: 'signer', scopes: [TEAM_A] });
    expect(r.body).toMatchObject({ role: 'signer', ca: null, maxValiditySeconds: 3600 });
  });

  it('rate-limits issuance per token: the 61st in a minute gets 429 RATE_LIMITED, and another token still issues', async () => {
    const signer = async () => (await admin('POST', '/tokens', { role: 'signer', scopes: [TEAM_A] })).body as { id: string; token: string };
    const busy = await signer();
    const { csrPem } = await generateKeyAndCsr();
    const other = await signer();
    frozen = new Date(); // all within one instant: the bucket (60, refilled one a second) does not refill
    try {
      for (let i = 0; i < 60; i++) expect((await as(busy.token)('POST', '/ca/release/certificates', { csr: csrPem })).status).toBe(201);
      const refused = await as(busy.token)('POST', '/ca/release/certificates', { csr: csrPem });
      expect([refused.status, refused.body.code]).toEqual([429, 'RATE_LIMITED']);
      expect((await as(other.token)('POST', '/ca/release/certificates', { csr: csrPem })).status).toBe(201);
    } finally {
      frozen = null;
    }
    const issued = (await instance.audit.list({ limit: 1000 })).filter((e) => e.action === 'ca.issue' && e.outcome === 'ok');
    expect([busy.id, other.id].map((id) => issued.filter((e) => e.tokenId === id).length)).toEqual([60, 1]);
  });

  it('refills the bucket continuously', () => {
    const limiter = new RateLimiter(2);
    const t = new Date('2026-01-01T00:00:00Z');
    limiter.take('a', t);
    limiter.take('a', t);
    expect(() => limiter.take('a', t)).toThrow(expect.objectContaining({ code: 'RATE_LIMITED' }));
    limiter.take('b', t);
    limiter.take('a', new Date(t.getTime() + 30_000));
  });
});

describe('when a certificate the CA issued is revoked', () => {
  it('re-signs the CRL at once with the entry, and again at half-life', async () => {
    const signer = await token({ role: 'signer', scopes: [TEAM_A] });
    const issued = (await as(signer)('POST', '/ca/release/certificates', { csr: (await generateKeyAndCsr()).csrPem })).body;
    const before = (await instance.store.getCrl(issued.issuer))!;
    expect((await admin('POST', '/revocations', { kind: 'certificate', certificate: issued.certificate, reason: 'keyCompromise' })).status).toBe(201);
    const after = (await instance.store.getCrl(issued.issuer))!;
    expect(BigInt(`0x${after.crlNumber}`)).toBe(BigInt(`0x${before.crlNumber}`) + 1n);
    const served = await appApi(instance, null).app.request(`/crl/${issued.issuer.slice(7)}.crl`);
    expect(Buffer.from(await served.arrayBuffer()).equals(after.der)).toBe(true);
    const dir = tempDir('keyshare-ca-crl-');
    writeFileSync(join(dir, 'crl.der'), after.der);
    expect(execFileSync('openssl', ['crl', '-inform', 'DER', '-in', join(dir, 'crl.der'), '-noout', '-text'], { encoding: 'utf8' })).toContain(`Serial Number: ${issued.serial.toUpperCase()}`);
    // Nothing due yet, nor 9 of the 20 hours (--crl-validity) later; 11 hours later, half the CRL's life has passed.
    await instance.ca.tick();
    ahead = 9 * 3600_000;
    try {
      await instance.ca.tick();
    } finally {
      ahead = 0;
    }
    expect((await instance.store.getCrl(issued.issuer))!.crlNumber).toBe(after.crlNumber);
    ahead = 11 * 3600_000;
    try {
      await instance.ca.tick();
    } finally {
      ahead = 0;
    }
    expect((await instance.store.getCrl(issued.issuer))!.crlNumber).not.toBe(after.crlNumber);
  });
});

describe('when an apply file revokes a certificate the CA issued', () => {
  it('re-signs the CRL too, and ca create was audited as one change', async () => {
    const signer = await token({ role: 'signer', scopes: [TEAM_B] });
    const issued = (await as(signer)('POST', '/ca/team-b/certificates', { csr: (await generateKeyAndCsr()).csrPem })).body;
    const before = (await instance.store.getCrl(issued.issuer))!.crlNumber;
    const r = await admin('POST', '/apply', { revoked: { certificates: [{ issuer: issued.issuer, serial: issued.serial, reason: 'superseded' }] } });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const crl = (await instance.store.getCrl(issued.issuer))!;
    expect(crl.crlNumber).not.toBe(before);
    const dir = tempDir('keyshare-ca-apply-');
    writeFileSync(join(dir, 'crl.der'), crl.der);
    expect(execFileSync('openssl', ['crl', '-inform', 'DER', '-in', join(dir, 'crl.der'), '-noout', '-text'], { encoding: 'utf8' })).toMatch(/Superseded/);
    const created = (await instance.audit.list()).filter((e) => e.action === 'ca.create' && e.outcome === 'ok').map((e) => e.target);
    expect(created).toEqual(expect.arrayContaining(['release', 'team-b']));
  });
});

describe('when the TSA gets a bad query', () => {
  const tsa = (body: Uint8Array | string, type = 'application/timestamp-query') =>
    appApi(instance, null).app.request('/tsa', { method: 'POST', headers: { 'content-type': type }, body: body as BodyInit });
  it('refuses junk, 1 MB, a SHA-1 imprint and a wrong content type, with codes', async () => {
    const dir = tempDir('keyshare-tsa-');
    writeFileSync(join(dir, 'data'), 'x');
    execFileSync('openssl', ['ts', '-query', '-data', join(dir, 'data'), '-sha1', '-out', join(dir, 'sha1.tsq')]);
    const cases: [Uint8Array | string, string, number, string][] = [
      [new Uint8Array(1024 * 1024), 'application/timestamp-query', 413, 'TSA_QUERY_TOO_LARGE'],
      ['junk', 'application/timestamp-query', 400, 'TSA_QUERY_INVALID'],
      [new Uint8Array(readFileSync(join(dir, 'sha1.tsq'))), 'application/timestamp-query', 400, 'TSA_BAD_ALG'],
      [new Uint8Array(readFileSync(join(dir, 'sha1.tsq'))), 'application/json', 400, 'TSA_QUERY_INVALID'],
    ];
    for (const [body, type, status, code] of cases) {
      const res = await tsa(body, type);
      expect([res.status, ((await res.json()) as { code: string }).code]).toEqual([status, code]);
    }
  });
});

describe('when the TSA gets a good query', () => {
  it('answers SHA-512 and SHA-256 imprints, with the TSA certificate only on certReq, and the nonce only when asked', async () => {
    const dir = tempDir('keyshare-tsa-ok-');
    writeFileSync(join(dir, 'data'), 'x');
    const tsaRec = (await instance.store.getCa('tsa'))!;
    writeFileSync(join(dir, 'root.pem'), tsaRec.root!);
    writeFileSync(join(dir, 'tsa.pem'), tsaRec.certificate);
    const answer = async (flags: string[], name: string) => {
      execFileSync('openssl', ['ts', '-query', '-data', join(dir, 'data'), ...flags, '-out', join(dir, `${name}.tsq`)]);
      const res = await appApi(instance, null).app.request('/tsa', { method: 'POST', headers: { 'content-type': 'application/timestamp-query' }, body: new Uint8Array(readFileSync(join(dir, `${name}.tsq`))) as BodyInit });
      expect(res.status).toBe(200);
      writeFileSync(join(dir, `${name}.tsr`), Buffer.from(await res.arrayBuffer()));
      return execFileSync('openssl', ['ts', '-reply', '-in', join(dir, `${name}.tsr`), '-text'], { encoding: 'utf8' });
    };
    const verify = (name: string, extra: string[]) => spawnSync('openssl', ['ts', '-verify', '-data', join(dir, 'data'), '-in', join(dir, `${name}.tsr`), '-CAfile', join(dir, 'root.pem'), ...extra], { encoding: 'utf8' });
    // SHA-512, no certReq, no nonce: the token holds no certificate, so openssl needs it given (-untrusted).
    expect(await answer(['-sha512', '-no_nonce'], 'bare')).toMatch(/Hash Algorithm: sha512[\s\S]*Nonce: unspecified/);
    expect(verify('bare', []).status).not.toBe(0);
    const bare = verify('bare', ['-untrusted', join(dir, 'tsa.pem')]);
    expect(bare.status, bare.stdout + bare.stderr).toBe(0);
    // SHA-256 with certReq and a nonce: the certificate is in the token.
    expect(await answer(['-sha256', '-cert'], 'full')).toMatch(/Hash Algorithm: sha256[\s\S]*Nonce: 0x[0-9A-F]+/);
    const full = verify('full', []);
    expect(full.status, full.stdout + full.stderr).toBe(0);
  });
});

// SoftHSM2 is required: missing, the file fails naming the package (never a silent skip).
const MODULE = requireTool('softhsm2');

describe('when the CA key lives in SoftHSM2', () => {
  it('signs certificates and CRLs that openssl accepts', async () => {
    const dir = tempDir('keyshare-ca-hsm-');
    mkdirSync(join(dir, 'tokens'));
    writeFileSync(join(dir, 'softhsm2.conf'), `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
    process.env.SOFTHSM2_CONF = join(dir, 'softhsm2.conf');
    process.env.KEYSHARE_PKCS11_MODULE = MODULE;
    process.env.KEYSHARE_PKCS11_PIN = '4321';
    execFileSync('softhsm2-util', ['--init-token', '--free', '--label', 'keyshare-ca', '--pin', '4321', '--so-pin', '87654321'], { stdio: 'ignore' });
    const { generatePkcs11Key } = await import('../../../service/crypto/pkcs11.js');
    const uri = generatePkcs11Key(`pkcs11:token=keyshare-ca?module-path=${MODULE}&pin-value=4321`, 'ca');
    expect((await admin('POST', '/scopes', { scope: 'registry.acme.io/hsm' })).status).toBe(201);
    const created = await admin('POST', '/ca', { name: 'hsm', scopes: ['registry.acme.io/hsm'], key: { uri } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.key).not.toContain('4321');
    const signer = await token({ role: 'signer', scopes: ['registry.acme.io/hsm'] });
    const issued = (await as(signer)('POST', '/ca/hsm/certificates', { csr: (await generateKeyAndCsr()).csrPem })).body;
    writeFileSync(join(dir, 'leaf.pem'), issued.certificate);
    writeFileSync(join(dir, 'cas.pem'), issued.chain.slice(issued.certificate.length));
    expect((await admin('POST', '/revocations', { kind: 'certificate', issuer: issued.issuer, serial: issued.serial })).status).toBe(201);
    writeFileSync(join(dir, 'crl.der'), (await instance.store.getCrl(issued.issuer))!.der);
    const crl = spawnSync('openssl', ['crl', '-inform', 'DER', '-in', join(dir, 'crl.der'), '-CAfile', join(dir, 'cas.pem'), '-noout', '-verify'], { encoding: 'utf8' });
    expect(crl.stderr + crl.stdout).toMatch(/verify OK/);
    execFileSync('openssl', ['crl', '-inform', 'DER', '-in', join(dir, 'crl.der'), '-out', join(dir, 'crl.pem')]);
    const v = spawnSync('openssl', ['verify', '-crl_check', '-CAfile', join(dir, 'cas.pem'), '-CRLfile', join(dir, 'crl.pem'), join(dir, 'leaf.pem')], { encoding: 'utf8' });
    expect(v.stdout + v.stderr).toMatch(/error 23 at 0 depth lookup: certificate revoked/);
    const plain = spawnSync('openssl', ['verify', '-CAfile', join(dir, 'cas.pem'), join(dir, 'leaf.pem')], { encoding: 'utf8' });
    expect(plain.status, plain.stdout + plain.stderr).toBe(0);
  });
});
