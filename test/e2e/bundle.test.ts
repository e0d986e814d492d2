/**
 * Offline bundles end to end (CONTRACT.md "Offline bundles"): an online instance with hundreds
 * of scopes exports; a fresh air-gapped instance imports while it runs, republishes under its
 * own root, and mirrors the origin. tuf-js, as an outside client, verifies the air-gapped
 * instance with the site's root, the mirror and the bundle itself with the origin's root.
 * Every refusal leaves the air-gapped instance exactly as it was.
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tar from 'tar';
import { readFixtureText } from '../../fixtures/index.js';
import { expectedSpkiId } from '../service/crypto/helpers.js';
import { openInstance, type Instance } from '../../service/instance.js';
import { exportBundle, type ExportResult } from '../../service/federation/bundle/export.js';
import type { ImportOptions } from '../../service/federation/bundle/import.js';
import { importBundle } from '../support/federation.js';
import { sha256Hex, type BundleManifest } from '../../shared/bundle/format.js';
import { TufClient, cleanupTempDirs, newDataDir, startTestService, tempDir, type TestService } from '../support/service.js';
import { codeOf, gzip, importerState, rawTar, readTargetOffline } from '../sync/bundle/support.js';

const ROOT_CA = readFixtureText('certs/root-ca.pem');
const EC_KEY = readFixtureText('keys/ec-p256.pub.pem');
const ED_KEY = readFixtureText('keys/ed25519.pub.pem');
const EC_KEY_ID = expectedSpkiId(EC_KEY);
const ED_KEY_ID = expectedSpkiId(ED_KEY);
const TEAMS = 300;
const DAY = 86_400_000;

type TrustDoc = { scope: string; version: number; level: string; anchors: { id: string; source?: string }[]; revoked: { keys: { id: string }[] } };

let originDir: string;
let originSvc: TestService;
let origin: Instance;
let originRoot: Buffer;
let site: TestService;
let work: string;
let bundle1: string;
let export1: ExportResult;

const trustPath = (scope: string) => (scope === '*' ? 'trust/_default.json' : `trust/${scope}.json`);

/** Everything an import may change on the air-gapped instance. */
const siteState = () => importerState(site.instance.store, export1.origin);

/** Imports as another process would: its own connection to the data dir, while the site runs. */
const importIntoSite = (file: string, extra: Partial<ImportOptions> = {}) =>
  importBundle({ dataDir: site.dataDir, file, root: originRoot, tmpDir: work, ...extra });

async function eventually<T>(read: () => Promise<T>, ok: (v: T) => boolean, ms = 15_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v) || Date.now() > until) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Unpacks a bundle, lets `edit` change files in it, and packs it again. */
async function repack(source: string, edit: (dir: string, manifest: BundleManifest) => void): Promise<string> {
  const dir = tempDir('keyshare-repack-');
  await tar.x({ file: source, cwd: dir });
  const manifest = JSON.parse(readFileSync(join(dir, 'bundle.json'), 'utf8')) as BundleManifest;
  edit(dir, manifest);
  writeFileSync(join(dir, 'bundle.json'), JSON.stringify(manifest));
  const out = join(dir, 'repacked.tar');
  await tar.c({ file: out, cwd: dir, portable: true }, ['bundle.json', 'tuf']);
  return out;
}

/** Re-records a file's digest in bundle.json after tampering, so that only TUF can catch it. */
function fixDigest(dir: string, manifest: BundleManifest, path: string) {
  const bytes = readFileSync(join(dir, path));
  const f = manifest.files.find((x) => x.path === path)!;
  f.sha256 = sha256Hex(bytes);
  f.length = bytes.length;
}

beforeAll(async () => {
  work = tempDir('keyshare-bundle-work-');
  originSvc = await startTestService();
  originDir = originSvc.dataDir;
  origin = originSvc.instance;
  originRoot = readFileSync(join(originDir, 'root.json'));
  const scopes: unknown[] = [
    { scope: '*', anchors: [{ certificate: ROOT_CA, name: 'acme-root' }] },
    { scope: 'registry.acme.io', level: 'strict', anchors: [{ publicKey: EC_KEY, name: 'ci' }] },
  ];
  for (let i = 0; i < TEAMS; i++) {
    scopes.push({ scope: `registry.acme.io/team-${i}`, level: i % 3 === 0 ? 'audit' : undefined, anchors: i % 10 === 0 ? [{ publicKey: ED_KEY, name: `team-${i}` }] : [] });
  }
  await origin.service.apply({ scopes } as never);
  await origin.publisher.flush();
  bundle1 = join(work, 'bundle-1.tar.gz');
  export1 = await exportBundle({ dataDir: originDir, out: bundle1 });
  site = await startTestService();
}, 180_000);

afterAll(async () => {
  await site?.close();
  await originSvc?.close();
  cleanupTempDirs();
});

describe('when an instance exports a bundle', () => {
  it('writes one gzip tar with bundle.json and a complete consistent-snapshot repository', async () => {
    const names: string[] = [];
    await tar.t({ file: bundle1, onReadEntry: (e) => void names.push(e.path) });
    expect(names[0]).toBe('bundle.json');
    const dir = tempDir('keyshare-list-');
    await tar.x({ file: bundle1, cwd: dir });
    const manifest = JSON.parse(readFileSync(join(dir, 'bundle.json'), 'utf8')) as BundleManifest;
    expect(manifest.origin).toBe(export1.origin);
    expect(manifest.scopes.included).toHaveLength(TEAMS + 2);
    expect(names).toContain('tuf/1.root.json');
    expect(names).toContain('tuf/timestamp.json');
    expect(names).toContain(`tuf/${manifest.versions.snapshot}.snapshot.json`);
    expect(names.some((n) => /^tuf\/\d+\.targets\.json$/.test(n))).toBe(true);
    expect(names.some((n) => /^tuf\/\d+\.trust\.json$/.test(n))).toBe(true);
    // A new repository's 16 bins (service/repo/bins.ts), and its 16 index shards in the 2 bins of
    // the shards role (service/repo/index-bins.ts).
    expect(names.filter((n) => /^tuf\/\d+\.bin-[0-9a-f]\.json$/.test(n))).toHaveLength(16);
    expect(names.some((n) => /^tuf\/\d+\.shards\.json$/.test(n))).toBe(true);
    expect(names.filter((n) => /^tuf\/\d+\.shards-bin-[01]\.json$/.test(n))).toHaveLength(2);
    expect(names.filter((n) => /^tuf\/targets\/index\/[0-9a-f]{64}\.[0-9a-f]\.json$/.test(n))).toHaveLength(16);
    expect(names.some((n) => /^tuf\/targets\/trust\/registry\.acme\.io\/[0-9a-f]{64}\.team-7\.json$/.test(n))).toBe(true);
    expect(names.some((n) => /^tuf\/targets\/trust\/[0-9a-f]{64}\._default\.json$/.test(n))).toBe(true);
    expect(Date.parse(export1.expires) - Date.parse(export1.createdAt)).toBe(30 * DAY);
  });

  it('verifies offline, file by file, with a plain TUF client pinned to the origin root', async () => {
    const dir = tempDir('keyshare-offline-');
    await tar.x({ file: bundle1, cwd: dir });
    const bytes = await readTargetOffline(join(dir, 'tuf'), originRoot, tempDir('keyshare-offline-client-'), 'trust/registry.acme.io/team-10.json');
    const doc = JSON.parse(bytes!.toString('utf8')) as TrustDoc;
    expect(doc.scope).toBe('registry.acme.io/team-10');
    expect(doc.anchors.map((a) => a.id)).toContain(ED_KEY_ID);
  });

  it('keeps the live repository moving forward for its online clients', async () => {
    const client = TufClient.pinnedTo(originSvc.url, originDir);
    const doc = await eventually(
      () => client.readJson<TrustDoc>(trustPath('registry.acme.io')),
      () => client.trusted('timestamp').signed.version > export1.versions.timestamp,
    );
    expect(doc!.scope).toBe('registry.acme.io');
    // The service picked up the export's live version (above the bundle's), short-lived as usual.
    const before = client.trusted('timestamp').signed.version;
    expect(before).toBe(export1.versions.timestamp + 1);
    expect(Date.parse(client.trusted('timestamp').signed.expires) - Date.now()).toBeLessThan(2 * DAY);
    // Another export, then a change: the same client follows without a rollback error.
    await exportBundle({ dataDir: originDir, out: join(work, 'scratch.tar') });
    await origin.service.createScope({ scope: 'after-export.example.com' });
    expect((await client.readJson<TrustDoc>(trustPath('after-export.example.com')))!.scope).toBe('after-export.example.com');
    expect(client.trusted('timestamp').signed.version).toBeGreaterThan(before + 2);
  });
});

describe('when a fresh air-gapped instance imports the bundle while it runs', () => {
  let siteClient: TufClient;

  it('publishes the imported trust within seconds, under its own root', async () => {
    const r = await importIntoSite(bundle1);
    expect(r.changed).toBe(true);
    expect(r.scopes.created).toHaveLength(TEAMS + 2);
    siteClient = TufClient.pinnedTo(site.url, site.dataDir);
    const doc = await eventually(
      () => siteClient.readJson<TrustDoc>(trustPath('registry.acme.io/team-20')),
      (d) => d !== null,
    );
    // The origin's effective trust: the team's key, the registry's key, the default scope's CA.
    expect(doc!.anchors).toHaveLength(3);
    expect(doc!.anchors.map((a) => a.id)).toEqual(expect.arrayContaining([EC_KEY_ID, ED_KEY_ID]));
    expect(doc!.anchors.every((a) => a.source === `bundle:${r.origin}`)).toBe(true);
    expect(doc!.level).toBe('strict');
    expect((await siteClient.readJson<TrustDoc>(trustPath('registry.acme.io/team-21')))!.level).toBe('audit');
    const index = await siteClient.readIndex();
    expect(index.scopes).toHaveLength(TEAMS + 2);
    // The site's root is its own, not the origin's.
    expect(readFileSync(join(site.dataDir, 'root.json')).equals(originRoot)).toBe(false);
  });

  it("serves the origin's repository byte for byte under /mirrors/{origin}/tuf/", async () => {
    const mirror = new TufClient(`${site.url}/mirrors/${export1.origin}`, join(originDir, 'root.json'));
    const doc = await mirror.readJson<TrustDoc>(trustPath('registry.acme.io/team-30'));
    expect(doc!.anchors.map((a) => a.id)).toContain(ED_KEY_ID);
    const res = await fetch(`${site.url}/mirrors/${export1.origin}/tuf/1.root.json`);
    expect(Buffer.from(await res.arrayBuffer()).equals(originRoot)).toBe(true);
    expect((await fetch(`${site.url}/mirrors/${export1.origin}/tuf/../../admin.token`)).status).toBe(404);
    expect((await fetch(`${site.url}/mirrors/nosuch/tuf/timestamp.json`)).status).toBe(404);
  });

  it('changes nothing when the same bundle is imported again', async () => {
    const before = await siteState();
    const r = await importIntoSite(bundle1);
    expect(r.changed).toBe(false);
    expect(await siteState()).toBe(before);
  });
});

describe('when the origin revokes a key and exports a newer bundle', () => {
  let bundle2: string;

  it('the revocation reaches the air-gapped clients, on the site root and through the mirror', async () => {
    await origin.service.revoke({ kind: 'key', id: ED_KEY_ID, reason: 'keyCompromise' });
    await origin.publisher.flush();
    bundle2 = join(work, 'bundle-2.tar');
    const e2 = await exportBundle({ dataDir: originDir, out: bundle2 });
    expect(e2.versions.timestamp).toBeGreaterThan(export1.versions.timestamp);
    const r = await importIntoSite(bundle2);
    expect(r.changed).toBe(true);
    expect(r.revocationsAdded).toBeGreaterThan(0);

    const siteClient = TufClient.pinnedTo(site.url, site.dataDir);
    const doc = await eventually(
      () => siteClient.readJson<TrustDoc>(trustPath('registry.acme.io/team-40')),
      (d) => d !== null && d.revoked.keys.some((k) => k.id === ED_KEY_ID),
    );
    expect(doc!.revoked.keys.map((k) => k.id)).toContain(ED_KEY_ID);
    expect(doc!.anchors.map((a) => a.id)).not.toContain(ED_KEY_ID);

    const mirror = new TufClient(`${site.url}/mirrors/${r.origin}`, join(originDir, 'root.json'));
    const mirrored = await mirror.readJson<TrustDoc>(trustPath('registry.acme.io/team-40'));
    expect(mirrored!.anchors.map((a) => a.id)).not.toContain(ED_KEY_ID);
  });

  it('then refuses the older bundle with ROLLBACK, changing nothing', async () => {
    const before = await siteState();
    expect(await codeOf(importIntoSite(bundle1))).toBe('ROLLBACK');
    expect(await siteState()).toBe(before);
  });
});

describe('refusals: each leaves the air-gapped instance unchanged', () => {
  let before: string;
  const refuse = async (file: string, code: string, extra: Partial<ImportOptions> = {}) => {
    before = await siteState();
    expect(await codeOf(importIntoSite(file, extra))).toBe(code);
    expect(await siteState()).toBe(before);
  };
  let fresh: string;

  beforeAll(async () => {
    // A bundle newer than everything imported, so that only the tampering can be refused.
    fresh = join(work, 'bundle-3.tar.gz');
    await exportBundle({ dataDir: originDir, out: fresh });
  });

  it('a tampered trust file (digest in bundle.json left as it was): HASH_MISMATCH', async () => {
    const file = await repack(fresh, (dir, m) => {
      const t = m.files.find((f) => f.path.includes('team-50.json'))!;
      writeFileSync(join(dir, t.path), readFileSync(join(dir, t.path), 'utf8').replace('"audit"', '"skip"').replace('"strict"', '"skip"'));
    });
    await refuse(file, 'HASH_MISMATCH');
  });

  it('a tampered trust file with its bundle.json digest fixed up: HASH_MISMATCH from TUF', async () => {
    const file = await repack(fresh, (dir, m) => {
      const t = m.files.find((f) => f.path.includes('team-50.json'))!;
      writeFileSync(join(dir, t.path), readFileSync(join(dir, t.path), 'utf8').replace(/"anchors": \[/, '"anchors": [ { "id": "evil" },'));
      fixDigest(dir, m, t.path);
    });
    await refuse(file, 'HASH_MISMATCH');
  });

  it('tampered signed metadata (a hashed bin), digest fixed up: BAD_SIGNATURE', async () => {
    const file = await repack(fresh, (dir, m) => {
      const bins = m.files.filter((f) => /\.bin-[0-9a-f]+\.json$/.test(f.path));
      const bin = bins.find((f) => readFileSync(join(dir, f.path), 'utf8').includes('"length"'))!;
      const md = JSON.parse(readFileSync(join(dir, bin.path), 'utf8'));
      const [first] = Object.keys(md.signed.targets);
      md.signed.targets[first!].length += 1;
      writeFileSync(join(dir, bin.path), JSON.stringify(md));
      fixDigest(dir, m, bin.path);
    });
    await refuse(file, 'BAD_SIGNATURE');
  });

  it("a foreign root (the site's own instead of the origin's): BAD_SIGNATURE", async () => {
    await refuse(fresh, 'BAD_SIGNATURE', { root: readFileSync(join(site.dataDir, 'root.json')) });
  });

  it('an expired bundle: EXPIRED_METADATA', async () => {
    const past = () => new Date(Date.now() - 60 * DAY);
    const { dataDir } = await newDataDir({ clock: past });
    const old = join(work, 'expired.tar');
    await exportBundle({ dataDir, out: old, clock: past, validForSeconds: 30 * 86_400 });
    await refuse(old, 'EXPIRED_METADATA', { root: readFileSync(join(dataDir, 'root.json')) });
  });

  it('a path traversal: PATH_TRAVERSAL, and nothing is written outside the scratch directory', async () => {
    const evil = join(work, 'traversal.tar');
    writeFileSync(evil, rawTar([{ path: 'bundle.json', data: '{}' }, { path: '../../../evil.json', data: 'pwned' }]));
    await refuse(evil, 'PATH_TRAVERSAL');
    expect(existsSync(join(work, 'evil.json'))).toBe(false);
    expect(readdirSync(work).filter((f) => f.startsWith('keyshare-bundle-'))).toEqual([]);
  });

  it('an archive that is not a tar: BUNDLE_INVALID', async () => {
    const junk = join(work, 'junk.tar');
    writeFileSync(junk, readFixtureText('certs/root-ca.pem').repeat(20));
    await refuse(junk, 'BUNDLE_INVALID');
  });

  it('a truncated archive: BUNDLE_INVALID', async () => {
    const whole = readFileSync(fresh);
    const cut = join(work, 'cut.tar.gz');
    writeFileSync(cut, whole.subarray(0, Math.floor(whole.length / 2)));
    await refuse(cut, 'BUNDLE_INVALID');
    // Cut exactly between entries of the plain tar: node-tar would read it as a shorter archive.
    const plain = gunzipSync(whole);
    const cutPlain = join(work, 'cut.tar');
    writeFileSync(cutPlain, plain.subarray(0, 512 * 40));
    await refuse(cutPlain, 'BUNDLE_INVALID');
  });

  it('a decompression bomb: BUNDLE_TOO_LARGE', async () => {
    const bomb = join(work, 'bomb.tar.gz');
    writeFileSync(bomb, gzip(rawTar([{ path: 'tuf/zeros', data: Buffer.alloc(24 * 1024 * 1024) }])));
    expect(readFileSync(bomb).length).toBeLessThan(100_000);
    await refuse(bomb, 'BUNDLE_TOO_LARGE', { limits: { maxTotalBytes: 4 * 1024 * 1024 } });
  });

  it('a bundle.json that lists a file the archive lacks: BUNDLE_INVALID', async () => {
    const file = await repack(fresh, (dir, m) => {
      m.files.push({ path: 'tuf/99.snapshot.json', length: 2, sha256: sha256Hex(Buffer.from('{}')) });
    });
    await refuse(file, 'BUNDLE_INVALID');
  });

  it('still accepts the untampered bundle afterwards', async () => {
    const r = await importIntoSite(fresh);
    expect(r.changed).toBe(true);
  });
});

describe('when the bundle is filtered with --scopes', () => {
  it('carries all metadata and only the matching trust files, verifies, and imports only those scopes', async () => {
    const out = join(work, 'filtered.tar');
    const r = await exportBundle({ dataDir: originDir, out, scopes: ['registry.acme.io/team-1', 'registry.acme.io/team-2'] });
    expect(r.scopes).toBe(2);
    const dir = tempDir('keyshare-filtered-');
    await tar.x({ file: out, cwd: dir });
    const client = tempDir('keyshare-filtered-client-');
    expect(await readTargetOffline(join(dir, 'tuf'), originRoot, client, 'trust/registry.acme.io/team-1.json')).not.toBeNull();

    const { dataDir } = await newDataDir();
    const imported = await importBundle({ dataDir, file: out, root: originRoot, tmpDir: work });
    expect(imported.scopes.created.sort()).toEqual(['registry.acme.io/team-1', 'registry.acme.io/team-2']);
    const inst = await openInstance({ dataDir });
    try {
      expect((await inst.store.listScopes()).map((s) => s.scope).sort()).toEqual(['registry.acme.io/team-1', 'registry.acme.io/team-2']);
    } finally {
      await inst.close();
    }
  });
});

describe('when a scope of the bundle already exists here from another source', () => {
  it('refuses the import with SCOPE_EXISTS and changes nothing', async () => {
    const { dataDir } = await newDataDir();
    const inst = await openInstance({ dataDir });
    try {
      await inst.service.createScope({ scope: 'registry.acme.io' });
      const before = JSON.stringify([await inst.store.listScopes(), await inst.store.listAnchors(), await inst.store.changeSeq()]);
      expect(await codeOf(importBundle({ store: inst.store, file: bundle1, root: originRoot, tmpDir: work }))).toBe('SCOPE_EXISTS');
      expect(JSON.stringify([await inst.store.listScopes(), await inst.store.listAnchors(), await inst.store.changeSeq()])).toBe(before);
    } finally {
      await inst.close();
    }
  });
});

describe('incremental bundles (--since)', () => {
  it('inherit the base bundle\'s scope filter, and refuse other --scopes with BUNDLE_SCOPE_MISMATCH (issue 24, row 2)', async () => {
    await origin.service.createScope({ scope: 'filtered.acme.io' });
    await origin.publisher.flush();
    const base = join(work, 'filtered-base.tar');
    const e0 = await exportBundle({ dataDir: originDir, out: base, scopes: ['filtered.acme.io'] });
    // A change outside the filter and one inside it.
    await origin.service.createScope({ scope: 'internal.corp.io' });
    await origin.service.createScope({ scope: 'filtered.acme.io/sub' });
    await origin.publisher.flush();
    const read = async (file: string) => {
      const dir = tempDir('keyshare-inc-filter-');
      await tar.x({ file, cwd: dir });
      return JSON.parse(readFileSync(join(dir, 'bundle.json'), 'utf8')) as BundleManifest;
    };
    for (const since of [{ bundle: base }, { timestamp: e0.versions.timestamp }]) {
      const out = join(work, `filtered-inc-${'bundle' in since ? 'file' : 'version'}.tar`);
      await exportBundle({ dataDir: originDir, out, since });
      const m = await read(out);
      expect(m.scopes.filter).toEqual(['filtered.acme.io']);
      expect(m.scopes.included).toEqual(['filtered.acme.io/sub']);
      expect(m.targets.map((t) => t.path)).not.toContain('trust/internal.corp.io.json');
    }
    expect(await codeOf(exportBundle({ dataDir: originDir, out: join(work, 'x.tar'), since: { bundle: base }, scopes: ['*'] }))).toBe('BUNDLE_SCOPE_MISMATCH');
    expect(await codeOf(exportBundle({ dataDir: originDir, out: join(work, 'y.tar'), since: { timestamp: 1 } }))).toBe('BUNDLE_SCOPE_MISMATCH');
  });

  it('carry only what changed, chain in order, complete the mirror, and refuse a gap', async () => {
    const { dataDir: site2 } = await newDataDir();
    const into = (file: string, dataDir = site2) => importBundle({ dataDir, file, root: originRoot, tmpDir: work });
    const base = join(work, 'inc-base.tar');
    await exportBundle({ dataDir: originDir, out: base });
    expect((await into(base)).changed).toBe(true);

    const P384 = readFixtureText('keys/ec-p384.pub.pem');
    await origin.service.addAnchor('registry.acme.io/team-5', { publicKey: P384, name: 'p384' });
    await origin.publisher.flush();
    const inc1 = join(work, 'inc-1.tar');
    const e1 = await exportBundle({ dataDir: originDir, out: inc1, since: { bundle: base } });
    // Only what changed travels: team-5's document and the index (plus metadata).
    const dir = tempDir('keyshare-inc-');
    await tar.x({ file: inc1, cwd: dir });
    const m1 = JSON.parse(readFileSync(join(dir, 'bundle.json'), 'utf8')) as BundleManifest;
    expect(m1.since).toEqual({ timestamp: expect.any(Number), snapshot: expect.any(Number) });
    // Issue 17: the changed scope's index shard travels, not index.json (it did not change).
    expect(m1.targets.map((t) => t.path).sort()).toEqual([expect.stringMatching(/^index\/[0-9a-f]+\.json$/), 'trust/registry.acme.io/team-5.json']);

    await origin.service.createScope({ scope: 'registry.acme.io/team-new' });
    await origin.publisher.flush();
    const inc2 = join(work, 'inc-2.tar');
    await exportBundle({ dataDir: originDir, out: inc2, since: { timestamp: e1.versions.timestamp } });

    const state = async () => {
      const inst = await openInstance({ dataDir: site2 });
      try {
        return JSON.stringify([await inst.store.listScopes(), await inst.store.listAnchors(), await inst.store.changeSeq(), (await inst.store.getUpstream(e1.origin))?.state]);
      } finally {
        void inst.close();
      }
    };
    const before = await state();
    expect(await codeOf(into(inc2))).toBe('BUNDLE_GAP');
    expect(await state()).toBe(before);
    const { dataDir: fresh } = await newDataDir();
    expect(await codeOf(into(inc1, fresh))).toBe('BUNDLE_GAP');

    const r1 = await into(inc1);
    expect(r1.scopes.updated).toEqual(['registry.acme.io/team-5']);
    expect(r1.scopes.removed).toEqual([]);
    const r2 = await into(inc2);
    expect(r2.scopes.created).toEqual(['registry.acme.io/team-new']);
    expect(await codeOf(into(inc1))).toBe('ROLLBACK');

    const svc = await startTestService({ dataDir: site2 });
    try {
      const mirror = new TufClient(`${svc.url}/mirrors/${e1.origin}`, join(originDir, 'root.json'));
      expect((await mirror.readJson<TrustDoc>(trustPath('registry.acme.io/team-6')))!.scope).toBe('registry.acme.io/team-6');
      expect((await mirror.readJson<TrustDoc>(trustPath('registry.acme.io/team-new')))!.scope).toBe('registry.acme.io/team-new');
      const local = TufClient.pinnedTo(svc.url, site2);
      const doc = await local.readJson<TrustDoc>(trustPath('registry.acme.io/team-5'));
      expect(doc!.anchors.map((a) => a.id)).toContain(expectedSpkiId(P384));
    } finally {
      await svc.close();
    }
  });
});
