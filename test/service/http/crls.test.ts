/**
 * CRLs and certificate revocation through the admin API of a running service, read back the
 * way clients read them: over TUF (tuf-js pinned to the root) and at /crl/{issuer-hex}.crl.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFixture, readFixtureText } from '../../../fixtures/index.js';
import { MAX_CRL_BYTES, parseCertificate } from '../../../service/crypto/index.js';
import { certificateIssuerId } from '../../../service/domain/crl.js';
import { TufClient, cleanupTempDirs, scopePath, startTestService, type TestService } from '../../support/service.js';

const root = parseCertificate(readFixtureText('certs/root-ca.pem'));
const intermediate = parseCertificate(readFixtureText('certs/intermediate-ca.pem'));
const hex = (id: string) => id.slice('sha256:'.length);
const crlBody = (file: string) => ({ crl: readFixture(`crls/${file}`).toString('base64'), encoding: 'base64' });

let svc: TestService;
let client: TufClient;

/** Polls the served trust document until `until` holds (publishing is asynchronous). */
async function trustDoc(scope: string, until: (doc: any) => boolean = () => true): Promise<any> {
  const path = `trust/${scope === '*' ? '_default' : scope}.json`;
  for (let i = 0; ; i++) {
    const doc = await client.readJson(path);
    if (doc && until(doc)) return doc;
    if (i > 200) throw new Error(`trust document ${path} never matched: ${JSON.stringify(doc)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

beforeAll(async () => {
  svc = await startTestService();
  client = TufClient.pinnedTo(svc.url, svc.dataDir);
  expect((await svc.api('POST', '/scopes', { scope: 'acme.io' })).status).toBe(201);
  expect((await svc.api('POST', '/scopes', { scope: 'acme.io/team-a' })).status).toBe(201);
  expect((await svc.api('POST', '/scopes', { scope: 'acme.io/team-b' })).status).toBe(201);
  expect((await svc.api('POST', `${scopePath('acme.io')}/anchors`, { certificate: root.pem, name: 'acme-root' })).status).toBe(201);
  expect((await svc.api('POST', `${scopePath('acme.io/team-a')}/anchors`, { certificate: intermediate.pem, name: 'acme-intermediate' })).status).toBe(201);
});
afterAll(async () => {
  await svc?.close();
  cleanupTempDirs();
});

describe('when a CRL is refused', () => {
  it.each([
    ['its issuer is not a CA anchor', 'unknown-issuer.crl', 400, 'CRL_UNKNOWN_ISSUER'],
    ['its signature is broken', 'bad-signature.crl', 400, 'CRL_BAD_SIGNATURE'],
    ['its nextUpdate has passed', 'expired.crl', 400, 'CRL_EXPIRED'],
    ['its thisUpdate is in the future', 'not-yet-valid.crl', 400, 'CRL_NOT_YET_VALID'],
    ['it has no nextUpdate', 'no-next-update.crl', 400, 'CRL_NO_NEXT_UPDATE'],
    ['it has no CRL number', 'no-number.crl', 400, 'CRL_INVALID'],
  ])('says so when %s (%s)', async (_why, file, status, code) => {
    const r = await svc.api('POST', '/crls', crlBody(file));
    expect(r.body.code).toBe(code);
    expect(r.status).toBe(status);
  });

  it('refuses what is not a CRL with CRL_INVALID', async () => {
    for (const body of [
      { crl: readFixture('certs/root-ca.der').toString('base64'), encoding: 'base64' },
      { crl: readFixtureText('certs/root-ca.pem') },
      { crl: readFixture('garbage/random.bin').toString('base64'), encoding: 'base64' },
    ]) {
      const r = await svc.api('POST', '/crls', body);
      expect(r.body.code).toBe('CRL_INVALID');
      expect(r.status).toBe(400);
    }
  });

  it('refuses an oversized CRL with CRL_TOO_LARGE (within the API body limit)', async () => {
    const r = await svc.api('POST', '/crls', { crl: randomBytes(MAX_CRL_BYTES + 1).toString('base64'), encoding: 'base64' });
    expect(r.body.code).toBe('CRL_TOO_LARGE');
    expect(r.status).toBe(413);
  });

  it('stores and publishes nothing', async () => {
    expect((await svc.api('GET', '/crls')).body.crls).toEqual([]);
    expect((await fetch(`${svc.url}/crl/${hex(intermediate.id)}.crl`)).status).toBe(404);
  });
});

describe('when a CRL is accepted', () => {
  let target: string;
  beforeAll(async () => {
    const r = await svc.api('POST', '/crls', { crl: readFixtureText('crls/intermediate-ca.crl.pem') });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body.crl).toMatchObject({ issuer: intermediate.id, crlNumber: '2', revoked: 1, nextUpdate: '2039-12-31T00:00:00.000Z' });
    target = r.body.crl.target;
  });

  it('publishes it byte for byte as crl/{issuer-hex}.crl through TUF', async () => {
    expect(target).toBe(`crl/${hex(intermediate.id)}.crl`);
    const bytes = await client.readTarget(target);
    expect(bytes?.equals(readFixture('crls/intermediate-ca.crl'))).toBe(true);
  });

  it('serves the same DER at /crl/{issuer-hex}.crl as application/pkix-crl', async () => {
    const res = await fetch(`${svc.url}/${target}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/pkix-crl');
    expect(Buffer.from(await res.arrayBuffer()).equals(readFixture('crls/intermediate-ca.crl'))).toBe(true);
  });

  it("lists it in the trust documents of the CA's scope and below, not beside", async () => {
    const docA = await trustDoc('acme.io/team-a', (d) => d.crls.length > 0);
    expect(docA.crls).toEqual([{ issuer: intermediate.id, target }]);
    expect((await trustDoc('acme.io')).crls).toEqual([]);
    expect((await trustDoc('acme.io/team-b')).crls).toEqual([]);
  });

  it('lists it in GET /api/v1/crls, with the fields /metrics reads', async () => {
    const r = await svc.api('GET', '/crls');
    expect(r.body.crls).toEqual([
      expect.objectContaining({ issuer: intermediate.id, crlNumber: '2', thisUpdate: '2025-06-01T00:00:00.000Z', nextUpdate: '2039-12-31T00:00:00.000Z', target }),
    ]);
  });

  it('refuses the same or a lower CRL number with ROLLBACK (RFC 5280 5.2.3)', async () => {
    for (const file of ['intermediate-ca.crl', 'intermediate-ca-1.crl']) {
      const r = await svc.api('POST', '/crls', crlBody(file));
      expect(r.body.code).toBe('ROLLBACK');
      expect(r.status).toBe(409);
    }
  });

  it('replaces it with a newer CRL, and publishes that one', async () => {
    const r = await svc.api('POST', '/crls', crlBody('intermediate-ca-3.crl'));
    expect(r.status).toBe(201);
    expect(r.body.crl.crlNumber).toBe('3');
    expect((await client.readTarget(target))?.equals(readFixture('crls/intermediate-ca-3.crl'))).toBe(true);
    const served = Buffer.from(await (await fetch(`${svc.url}/${target}`)).arrayBuffer());
    expect(served.equals(readFixture('crls/intermediate-ca-3.crl'))).toBe(true);
  });
});

describe('when a certificate is revoked', () => {
  it('finds the issuing CA anchor of a leaf given as PEM', async () => {
    const r = await svc.api('POST', '/revocations', { kind: 'certificate', certificate: readFixtureText('certs/leaf.pem'), reason: 'superseded', scope: 'acme.io/team-a' });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body.revocation).toMatchObject({ issuer: intermediate.id, serial: '8badf00d', reason: 'superseded', scope: 'acme.io/team-a' });
  });

  it('takes DER as base64, and a self-issued certificate is its own issuer', async () => {
    const r = await svc.api('POST', '/revocations', { kind: 'certificate', certificate: readFixture('certs/tsa-ca.pem').toString('base64'), encoding: 'base64', scope: 'acme.io/team-b' });
    const tsa = parseCertificate(readFixtureText('certs/tsa-ca.pem'));
    expect(r.body.revocation).toMatchObject({ issuer: tsa.id, serial: '0c' });
  });

  it('refuses a certificate whose issuer is unknown', async () => {
    const r = await svc.api('POST', '/revocations', { kind: 'certificate', certificate: readFixtureText('certs/leaf-forged.pem') });
    expect(r.body.code).toBe('ISSUER_UNKNOWN');
  });

  it('takes the issuer from the certificates given after it', () => {
    const leaf = parseCertificate(readFixtureText('certs/leaf.pem'));
    expect(certificateIssuerId(leaf, [], [intermediate])).toBe(intermediate.id);
    expect(() => certificateIssuerId(leaf, [], [])).toThrow(/not a CA anchor/);
  });

  it('normalises serials to whole octets without the sign octet', async () => {
    const r = await svc.api('POST', '/revocations', { kind: 'certificate', issuer: root.id.toUpperCase().replace('SHA256', 'sha256'), serial: '0x0A1B', scope: 'acme.io/team-b' });
    expect(r.body.revocation).toMatchObject({ issuer: root.id, serial: '0a1b' });
    const odd = await svc.api('POST', '/revocations', { kind: 'certificate', issuer: root.id, serial: '00ABC', scope: 'acme.io/team-b' });
    expect(odd.body.revocation.serial).toBe('0abc');
  });

  it('drops an intermediate CA anchor revoked by its issuer anchor and serial, at that scope', async () => {
    expect((await trustDoc('acme.io/team-a')).anchors.map((a: any) => a.id)).toContain(intermediate.id);
    const r = await svc.api('POST', '/revocations', { kind: 'certificate', issuer: root.id, serial: '0b', reason: 'cACompromise', scope: 'acme.io/team-a' });
    expect(r.status).toBe(201);
    // Published within moments: poll the served document (no timing assertion).
    const doc = await trustDoc('acme.io/team-a', (d) => d.revoked.certificates.some((c: any) => c.serial === '0b'));
    expect(doc.anchors.map((a: any) => a.id)).toEqual([root.id]);
    expect(doc.crls).toEqual([]);
  });
});

describe('when a key is revoked without a scope', () => {
  it('is published everywhere, polled from the served documents', async () => {
    const key = readFixtureText('keys/ed25519.pub.pem');
    const added = await svc.api('POST', `${scopePath('acme.io/team-b')}/anchors`, { publicKey: key });
    const id = added.body.anchor.id;
    await trustDoc('acme.io/team-b', (d) => d.anchors.some((a: any) => a.id === id));
    expect((await svc.api('POST', '/revocations', { kind: 'key', id, reason: 'keyCompromise' })).status).toBe(201);
    for (const scope of ['acme.io', 'acme.io/team-a', 'acme.io/team-b']) {
      const doc = await trustDoc(scope, (d) => d.revoked.keys.some((k: any) => k.id === id));
      expect(doc.anchors.map((a: any) => a.id)).not.toContain(id);
    }
  });
});
