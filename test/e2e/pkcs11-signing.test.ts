/**
 * PKCS#11 signing through SoftHSM2 (issue 7): online keys and root keys in a token sign
 * through the same Signer port as key files, and tuf-js verifies what they sign.
 * Needs Debian's softhsm2: fails without it when CI is set, skips (visibly) otherwise.
 */
import { requireTool } from '../support/system-tools.js';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalize } from '@tufjs/canonical-json';
import { Key, Metadata, MetadataKind, Signature } from '@tufjs/models';
import { FileSigner } from '../../service/crypto/signer.js';
import { Pkcs11Signer, generatePkcs11Key, parsePkcs11Uri } from '../../service/crypto/pkcs11.js';
import { signRootProposal } from '../../service/repo/ceremony.js';
import { CachingTufClient, initTestDataDir, removeScratchDirs, scratchDir, serve, type Running } from '../support/tuf-client.js';

const run = promisify(execFile);
const REPO = resolve(import.meta.dirname, '../..');
// Never skipped: a missing SoftHSM module fails the file (test/support/system-tools.ts).
const MODULE = requireTool('softhsm2');
const available = true;

const PIN = '4321';
let tokenUri: string;

beforeAll(async () => {
  if (!available) return;
  // A private SoftHSM2 token store for this test file; the library reads SOFTHSM2_CONF at C_Initialize.
  const dir = scratchDir('keyshare-softhsm-');
  mkdirSync(join(dir, 'tokens'));
  writeFileSync(join(dir, 'softhsm2.conf'), `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  process.env.SOFTHSM2_CONF = join(dir, 'softhsm2.conf');
  await run('softhsm2-util', ['--init-token', '--free', '--label', 'keyshare', '--pin', PIN, '--so-pin', '87654321']);
  tokenUri = `pkcs11:token=keyshare?module-path=${MODULE}&pin-value=${PIN}`;
});
afterAll(() => removeScratchDirs());

describe.skipIf(!available)('when keys live in a PKCS#11 token (SoftHSM2)', () => {
  it('signs TUF metadata that @tufjs/models verifies with the token key', async () => {
    const signer = Pkcs11Signer.open(generatePkcs11Key(tokenUri, 'unit-test'));
    try {
      expect(signer.publicKey).toMatchObject({ keytype: 'ecdsa', scheme: 'ecdsa-sha2-nistp256' });
      expect(signer.uri).not.toContain(PIN);
      const md = Metadata.fromJSON(MetadataKind.Root, JSON.parse(readFileSync(join(await initTestDataDir(), 'root.json'), 'utf8')));
      const key = new Key({ keyID: signer.keyid, keyType: signer.publicKey.keytype, scheme: signer.publicKey.scheme, keyVal: signer.publicKey.keyval });
      for (let i = 0; i < 5; i++) {
        const sig = await signer.sign(Buffer.from(canonicalize(md.signed.toJSON() as never)));
        md.signatures = { [signer.keyid]: new Signature({ keyID: signer.keyid, sig: Buffer.from(sig).toString('hex') }) };
        expect(() => key.verifySignature(md)).not.toThrow();
      }
    } finally {
      signer.close();
    }
  });

  it('refuses a wrong PIN and a key the token does not hold, with codes', () => {
    expect(() => Pkcs11Signer.open(`pkcs11:token=keyshare;object=unit-test?module-path=${MODULE}&pin-value=0000`)).toThrow(
      expect.objectContaining({ code: 'PKCS11_ERROR' }),
    );
    expect(() => Pkcs11Signer.open(`pkcs11:token=keyshare;object=nope?module-path=${MODULE}&pin-value=${PIN}`)).toThrow(
      expect.objectContaining({ code: 'PKCS11_KEY_NOT_FOUND' }),
    );
    expect(() => Pkcs11Signer.open(`pkcs11:token=other;object=x?module-path=${MODULE}&pin-value=${PIN}`)).toThrow(
      expect.objectContaining({ code: 'PKCS11_TOKEN_NOT_FOUND' }),
    );
    expect(parsePkcs11Uri('pkcs11:token=a%20b;object=k?pin-value=', { KEYSHARE_PKCS11_MODULE: '/m.so' })).toMatchObject({
      token: 'a b',
      object: 'k',
      modulePath: '/m.so',
      pin: '',
    });
    // Issue 16, finding 4: a pin-source is a regular file, never a device.
    expect(() => parsePkcs11Uri('pkcs11:token=a;object=k?pin-source=/dev/null', { KEYSHARE_PKCS11_MODULE: '/m.so' })).toThrow(expect.objectContaining({ code: 'PKCS11_URI_INVALID' }));
  });

  it('initialises a repository whose online keys are all in the token', async () => {
    const dataDir = await initTestDataDir({ pkcs11: tokenUri });
    for (const role of ['targets', 'snapshot', 'timestamp']) {
      expect(existsSync(join(dataDir, 'keys', `${role}.pem`)), role).toBe(false);
      expect(readFileSync(join(dataDir, 'keys', `${role}.pkcs11`), 'utf8')).toMatch(new RegExp(`^pkcs11:token=keyshare;object=keyshare-${role}-`));
    }
    const svc = await serve(dataDir);
    try {
      await svc.api('POST', '/scopes', { scope: 'registry.acme.io' });
      const client = new CachingTufClient(svc.url, join(dataDir, 'root.json'));
      expect(await client.readJson('trust/registry.acme.io.json')).toMatchObject({ scope: 'registry.acme.io' });
      const root = client.cached('root').signed;
      for (const role of ['targets', 'snapshot', 'timestamp']) {
        expect(root.keys[root.roles[role].keyids[0]].keytype, role).toBe('ecdsa');
        expect(client.signedBy(role)).toEqual(root.roles[role].keyids);
      }
    } finally {
      await svc.close();
    }
  });

  describe('and the timestamp key is rotated into the token', () => {
    let svc: Running;
    let client: CachingTufClient;
    let hsmKeyId: string;

    beforeAll(async () => {
      svc = await serve(await initTestDataDir());
      await svc.api('POST', '/scopes', { scope: 'registry.acme.io' });
      client = new CachingTufClient(svc.url, join(svc.dataDir, 'root.json'));
      expect(await client.readJson('trust/registry.acme.io.json')).toMatchObject({ scope: 'registry.acme.io' });
    });
    afterAll(async () => svc?.close());

    it('loads only the PKCS#11 module the operator configured', async () => {
      delete process.env.KEYSHARE_PKCS11_MODULE;
      const r = await svc.api('POST', '/keys/timestamp/rotate', { pkcs11: tokenUri.replace(MODULE!, '/tmp/evil.so') });
      expect(r.body.code).toBe('PKCS11_MODULE_NOT_ALLOWED');
      expect((await svc.api('POST', '/keys/timestamp/rotate', { pkcs11: tokenUri })).body.code).toBe('PKCS11_MODULE_NOT_ALLOWED');
      expect(existsSync(join(svc.dataDir, 'keys', 'timestamp.next.pkcs11'))).toBe(false);
    });

    it('publishes root v2 naming the token key, and tuf-js accepts timestamps it signs', async () => {
      process.env.KEYSHARE_PKCS11_MODULE = MODULE;
      const r = await svc.api('POST', '/keys/timestamp/rotate', { pkcs11: tokenUri });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.published).toMatchObject({ version: 2, rotatedRoles: ['timestamp'] });
      hsmKeyId = r.body.keyid;
      const stored = readFileSync(join(svc.dataDir, 'keys', 'timestamp.pkcs11'), 'utf8');
      expect(stored).toMatch(/^pkcs11:token=keyshare;object=keyshare-timestamp-/);
      expect(existsSync(join(svc.dataDir, 'keys', 'timestamp.pem'))).toBe(false);
      expect(Pkcs11Signer.open(stored.trim()).keyid).toBe(hsmKeyId);

      const root = JSON.parse(readFileSync(join(svc.dataDir, 'root.json'), 'utf8'));
      expect(root.signed.roles.timestamp.keyids).toEqual([hsmKeyId]);
      expect(root.signed.keys[hsmKeyId].keytype).toBe('ecdsa');

      expect(await client.readJson('trust/registry.acme.io.json')).toMatchObject({ scope: 'registry.acme.io' });
      expect(client.signedBy('timestamp')).toEqual([hsmKeyId]);
    });

    it('keeps signing with the token key after a restart', async () => {
      const dataDir = svc.dataDir;
      await svc.close();
      svc = await serve(dataDir);
      client = new CachingTufClient(svc.url, join(dataDir, 'root.json'));
      await svc.api('POST', '/scopes', { scope: 'quay.io' });
      expect(await client.readJson('trust/quay.io.json')).toMatchObject({ scope: 'quay.io' });
      expect(client.signedBy('timestamp')).toEqual([hsmKeyId]);
    });

    it('adds a root key held in the token and signs root v3 with it through `root sign --key pkcs11:`', async () => {
      const rootUri = generatePkcs11Key(tokenUri, 'root-hsm');
      const hsmRoot = Pkcs11Signer.open(rootUri);
      const fileRoot = new FileSigner(readFileSync(join(svc.dataDir, 'keys', 'root-1.pem'), 'utf8'));
      try {
        const p = await svc.api('POST', '/root/proposal', { addKeys: [hsmRoot.publicKeyPem], threshold: 2 });
        expect(p.status, JSON.stringify(p.body)).toBe(201);
        const staged = Metadata.fromJSON(MetadataKind.Root, p.body.metadata);
        await svc.api('POST', '/root/proposal/signatures', { signatures: await signRootProposal(staged, [fileRoot]) });
      } finally {
        hsmRoot.close();
      }
      const cli = await run(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'root', 'sign', '--key', rootUri], {
        cwd: REPO,
        env: { ...process.env, KEYSHARE_SERVER: svc.url, KEYSHARE_TOKEN: svc.token },
      });
      expect(cli.stdout).toMatch(/both thresholds are met/);
      const pub = await svc.api('POST', '/root/publish');
      expect(pub.status, JSON.stringify(pub.body)).toBe(200);
      expect(pub.body.version).toBe(3);

      await svc.api('POST', '/scopes', { scope: 'ghcr.io' });
      expect(await client.readJson('trust/ghcr.io.json')).toMatchObject({ scope: 'ghcr.io' });
      expect(client.cached('root').signed.version).toBe(3);
      expect(client.cached('root').signed.roles.root.threshold).toBe(2);
    }, 120_000);
  });
});
