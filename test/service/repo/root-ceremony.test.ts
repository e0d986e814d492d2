/**
 * The root ceremony (issue 7): root N+1 is published only with a threshold of signatures by
 * root N's keys and by its own (TUF spec 5.3.4), and a tuf-js client pinned to root v1 follows.
 */
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Metadata, MetadataKind, type Root } from '@tufjs/models';
import { FileSigner, generateSigningKeyPem, publicKeyPem, type Signer } from '../../../service/crypto/signer.js';
import { proposeRoot, signRootProposal, signatureStatus } from '../../../service/repo/ceremony.js';
import { metadataBytes, parseMetadata, signMetadata } from '../../../service/repo/tuf.js';
import { openInstance } from '../../../service/instance.js';
import { CachingTufClient, initTestDataDir, removeScratchDirs, scratchDir, serve, type Running } from '../../support/tuf-client.js';

const rootKey = (dataDir: string, i: number) => new FileSigner(readFileSync(join(dataDir, 'keys', `root-${i}.pem`), 'utf8'));
const newKey = () => {
  const pem = generateSigningKeyPem();
  return { signer: new FileSigner(pem), publicPem: publicKeyPem(pem) };
};

let svc: Running;
let k1: Signer, k2: Signer, k3: Signer;
const k4 = newKey();
const k5 = newKey();
const outsider = newKey();
let pinnedV1: string;

async function staged(): Promise<Metadata<Root>> {
  const r = await svc.api('GET', '/root/proposal');
  expect(r.status).toBe(200);
  return Metadata.fromJSON(MetadataKind.Root, r.body.metadata);
}
async function sign(...signers: Signer[]) {
  return svc.api('POST', '/root/proposal/signatures', { signatures: await signRootProposal(await staged(), signers) });
}

beforeAll(async () => {
  const dataDir = await initTestDataDir({ rootKeys: 3, rootThreshold: 2 });
  [k1, k2, k3] = [rootKey(dataDir, 1), rootKey(dataDir, 2), rootKey(dataDir, 3)];
  // The root a client pins out of band before any rotation.
  pinnedV1 = join(scratchDir(), 'root-v1.json');
  copyFileSync(join(dataDir, 'root.json'), pinnedV1);
  svc = await serve(dataDir);
  // Some trust to read back through tuf-js.
  expect((await svc.api('POST', '/scopes', { scope: 'registry.acme.io' })).status).toBe(201);
});
afterAll(async () => {
  await svc?.close();
  removeScratchDirs();
});

describe('when root v1 (2 of 3 keys) is rotated to root v2 with two new keys', () => {
  it('stages root v2 and says which signatures it needs from root v1 and root v2', async () => {
    const r = await svc.api('POST', '/root/proposal', { addKeys: [k4.publicPem, k5.publicPem], removeKeys: [k1.keyid, k2.keyid], threshold: 2 });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body.version).toBe(2);
    expect(r.body.status.trusted).toMatchObject({ version: 1, threshold: 2, signedBy: [], missing: 2 });
    expect(r.body.status.proposed).toMatchObject({ version: 2, threshold: 2, signedBy: [], missing: 2 });
    expect(new Set(r.body.status.proposed.unsigned)).toEqual(new Set([k3.keyid, k4.signer.keyid, k5.signer.keyid]));
    const again = await svc.api('POST', '/root/proposal', { threshold: 1 });
    expect(again.body.code).toBe('PROPOSAL_PENDING');
  });

  it('refuses a signature by a key that is in neither root v1 nor root v2', async () => {
    const r = await sign(outsider.signer);
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('UNKNOWN_KEY');
  });

  it('refuses a signature that does not verify over the staged root', async () => {
    const wrong = Buffer.from(await k1.sign(Buffer.from('something else'))).toString('hex');
    const r = await svc.api('POST', '/root/proposal/signatures', { signatures: [{ keyid: k1.keyid, sig: wrong }] });
    expect(r.body.code).toBe('BAD_SIGNATURE');
  });

  it('refuses to publish a root signed only by keys that root v1 does not hold', async () => {
    const s = await sign(k4.signer, k5.signer);
    expect(s.status, JSON.stringify(s.body)).toBe(200);
    expect(s.body.status.proposed.missing).toBe(0);
    const r = await svc.api('POST', '/root/publish');
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('THRESHOLD_NOT_MET');
    expect(r.body.message).toMatch(/root v1 \(the current root\) needs 2 signatures by its root keys and has 0/);
    expect(r.body.message).not.toMatch(/root v2/);
  });

  it('refuses to publish with too few signatures, counting one key once', async () => {
    await sign(k1);
    await sign(k1); // the same key again does not count twice (distinct key IDs)
    const st = await svc.api('GET', '/root/proposal');
    expect(st.body.status.trusted).toMatchObject({ signedBy: [k1.keyid], missing: 1 });
    const r = await svc.api('POST', '/root/publish');
    expect(r.body.code).toBe('THRESHOLD_NOT_MET');
    expect(r.body.message).toMatch(/root v1 .* has 1: sign with 1 more of/);
    const served = await fetch(`${svc.url}/tuf/2.root.json`);
    expect(served.status).toBe(404);
  });

  it('publishes root v2 once both thresholds are met, and keeps root v1 served', async () => {
    const s = await sign(k3);
    expect(s.body.status.met).toBe(true);
    const r = await svc.api('POST', '/root/publish');
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ version: 2, rotatedRoles: [] });
    const v2 = JSON.parse(readFileSync(join(svc.dataDir, 'root.json'), 'utf8'));
    expect(v2.signed.version).toBe(2);
    expect(v2.signed.roles.root.keyids.sort()).toEqual([k3.keyid, k4.signer.keyid, k5.signer.keyid].sort());
    for (const v of [1, 2]) expect((await fetch(`${svc.url}/tuf/${v}.root.json`)).status).toBe(200);
    expect((await svc.api('GET', '/root/proposal')).body.code).toBe('NO_PROPOSAL');
  });

  it('lets a tuf-js client pinned to root v1 reach root v2 and read the trust', async () => {
    const client = new CachingTufClient(svc.url, pinnedV1);
    const doc = await client.readJson('trust/registry.acme.io.json');
    expect(doc).toMatchObject({ scope: 'registry.acme.io' });
    expect(client.cached('root').signed.version).toBe(2);
  });

  it('then refuses a signature by a key that root v2 removed', async () => {
    const p = await svc.api('POST', '/root/proposal', { expires: '30d' });
    expect(p.status, JSON.stringify(p.body)).toBe(201);
    expect(p.body.version).toBe(3);
    const r = await sign(k1);
    expect(r.body.code).toBe('UNKNOWN_KEY');
    expect((await svc.api('DELETE', '/root/proposal')).status).toBe(200);
  });
});

describe('when the same proposal is published twice at once', () => {
  it('publishes it once', async () => {
    expect((await svc.api('POST', '/root/proposal', { expires: '400d' })).status).toBe(201);
    expect((await sign(k3, k4.signer)).body.status.met).toBe(true);
    const results = await Promise.all([svc.api('POST', '/root/publish'), svc.api('POST', '/root/publish')]);
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.find((r) => r.status !== 200)!.body.code).toMatch(/^(CONFLICT|NO_PROPOSAL|PROPOSAL_STALE)$/);
    expect((await fetch(`${svc.url}/tuf/3.root.json`)).status).toBe(200);
    expect((await fetch(`${svc.url}/tuf/4.root.json`)).status).toBe(404);
  });
});

describe('when a root v2 signed only by keys that root v1 does not hold is served anyway', () => {
  it('is refused by tuf-js too (TUF spec 5.3.4), so the check does not rest on the service alone', async () => {
    const dataDir = await initTestDataDir({ rootKeys: 3, rootThreshold: 2 });
    const instance = await openInstance({ dataDir });
    try {
      // What an attacker with write access to the database could do: bypass the ceremony.
      const v1 = parseMetadata(MetadataKind.Root, (await instance.store.latestMetadata('root'))!.bytes).signed;
      const ids = v1.roles.root!.keyIDs;
      const forged = proposeRoot(v1, { addKeys: [k4.signer.publicKey, k5.signer.publicKey], removeKeyIds: ids, threshold: 2, lifetimeSeconds: 86_400 }, new Date());
      await signMetadata(forged, [k4.signer, k5.signer]);
      expect(signatureStatus(v1, forged)).toMatchObject({ met: false, trusted: { missing: 2 }, proposed: { missing: 0 } });
      await instance.store.putRoot({ role: 'root', version: 2, bytes: metadataBytes(forged), expires: forged.signed.expires }, new Date().toISOString());
    } finally {
      await instance.close();
    }
    const pinned = join(scratchDir(), 'root-v1.json');
    copyFileSync(join(dataDir, 'root.json'), pinned);
    const forgedSvc = await serve(dataDir);
    try {
      expect((await fetch(`${forgedSvc.url}/tuf/2.root.json`)).status).toBe(200);
      await expect(new CachingTufClient(forgedSvc.url, pinned).read('index.json')).rejects.toThrow(/root/i);
      // Nor does the forged root become <data>/root.json, the file people hand out to pin.
      expect(JSON.parse(readFileSync(join(dataDir, 'root.json'), 'utf8')).signed.version).toBe(1);
    } finally {
      await forgedSvc.close();
    }
  });
});

describe('when a proposal is malformed', () => {
  it('refuses to remove a key that is not a root key', async () => {
    const r = await svc.api('POST', '/root/proposal', { removeKeys: ['00'.repeat(32)] });
    expect(r.body.code).toBe('KEY_NOT_FOUND');
  });
  it('refuses a threshold above the number of root keys', async () => {
    const r = await svc.api('POST', '/root/proposal', { threshold: 4 });
    expect(r.body.code).toBe('THRESHOLD_INVALID');
  });
  it('refuses a private key sent as a new root key', async () => {
    const r = await svc.api('POST', '/root/proposal', { addKeys: [generateSigningKeyPem()] });
    expect(r.body.code).toBe('BAD_PUBLIC_KEY');
  });
  it('refuses to add a root key that is already one', async () => {
    const r = await svc.api('POST', '/root/proposal', { addKeys: [k4.publicPem] });
    expect(r.body.code).toBe('DUPLICATE_KEY');
  });
  it('says there is nothing to publish without a proposal', async () => {
    const r = await svc.api('POST', '/root/publish');
    expect(r.status).toBe(404);
    expect(r.body.code).toBe('NO_PROPOSAL');
  });
});
