/**
 * Issue 23: offline bundles carry the origin's transparency log (service/federation/bundle/log-proof.ts), and
 * an air-gapped site checks it without any network: the bundle's timestamp is an entry of the
 * signed checkpoint, and that checkpoint extends the one the site kept from the origin's last
 * bundle. A split view (two forks of the origin, each exporting) is refused with
 * LOG_INCONSISTENT, a bundle whose timestamp is not logged with NOT_LOGGED; each refusal leaves
 * the site unchanged.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFixtureText } from '../../fixtures/index.js';
import { openInstance } from '../../service/instance.js';
import { exportBundle } from '../../service/federation/bundle/export.js';
import { importBundle } from '../support/federation.js';
import type { BundleManifest } from '../../shared/bundle/format.js';
import type { BundleLog } from '../../service/federation/bundle/log-proof.js';
import { parseCheckpoint } from '../../shared/tlog/checkpoint.js';
import { NoteSigner, signNote } from '../../shared/tlog/note.js';
import { cleanupTempDirs, newDataDir, tempDir } from '../support/service.js';
import { codeOf, importerState } from '../sync/bundle/support.js';
import { openStore } from '../../service/store/index.js';
import { itSqlite } from '../support/database.js';

const EC_KEY = readFixtureText('keys/ec-p256.pub.pem');

let origin: string;
let originRoot: Buffer;
let work: string;

/** A change published on a data dir, as a service would (then closed). */
async function publishScope(dataDir: string, scope: string) {
  const inst = await openInstance({ dataDir });
  try {
    await inst.service.createScope({ scope });
    await inst.publisher.flush();
  } finally {
    await inst.close();
  }
}

async function exportTo(dataDir: string, name: string) {
  const out = join(work, name);
  const r = await exportBundle({ dataDir, out });
  return { out, origin: r.origin };
}

async function manifestOf(file: string): Promise<BundleManifest & { log: BundleLog }> {
  const dir = tempDir('keyshare-bundle-log-');
  await tar.x({ file, cwd: dir });
  return JSON.parse(readFileSync(join(dir, 'bundle.json'), 'utf8')) as BundleManifest & { log: BundleLog };
}

/** Repacks a bundle with an edited bundle.json (the log section is not among the digests it lists). */
async function editManifest(file: string, edit: (m: BundleManifest & { log: BundleLog }) => void): Promise<string> {
  const dir = tempDir('keyshare-bundle-log-');
  await tar.x({ file, cwd: dir });
  const m = JSON.parse(readFileSync(join(dir, 'bundle.json'), 'utf8')) as BundleManifest & { log: BundleLog };
  edit(m);
  writeFileSync(join(dir, 'bundle.json'), JSON.stringify(m));
  const out = join(dir, 'edited.tar');
  await tar.c({ file: out, cwd: dir, portable: true }, ['bundle.json', 'tuf']);
  return out;
}

async function siteState(dataDir: string, originId: string) {
  const store = await openStore({ dataDir });
  try {
    return await importerState(store, originId);
  } finally {
    await store.close();
  }
}

const into = (dataDir: string, file: string) => importBundle({ dataDir, file, root: originRoot, tmpDir: work });

beforeAll(async () => {
  work = tempDir('keyshare-bundle-log-work-');
  origin = (await newDataDir()).dataDir;
  originRoot = readFileSync(join(origin, 'root.json'));
  const inst = await openInstance({ dataDir: origin });
  try {
    await inst.service.apply({ scopes: [{ scope: 'registry.acme.io', anchors: [{ publicKey: EC_KEY, name: 'ci' }] }] } as never);
    await inst.publisher.flush();
  } finally {
    await inst.close();
  }
}, 120_000);

afterAll(() => cleanupTempDirs());

describe('a bundle carries the log', () => {
  it("holds the signed checkpoint, its timestamp's entry with an inclusion proof, and consistency proofs from earlier bundles", async () => {
    const b1 = await exportTo(origin, 'carry-1.tar');
    const m1 = await manifestOf(b1.out);
    const cp1 = parseCheckpoint(m1.log.checkpoint.slice(0, m1.log.checkpoint.indexOf('\n\n') + 1));
    expect(m1.log.key).toMatch(/^keyshare\/[0-9a-f]{16}\+[0-9a-f]{8}\+/);
    expect(Buffer.from(m1.log.entry.data, 'base64').toString()).toContain(`timestamp ${m1.versions.timestamp} sha256:`);
    // The export commits the bundle's timestamp and then a live one: the bundle's is the last but one entry.
    expect(m1.log.entry.index).toBe(cp1.size - 2);
    expect(m1.log.inclusion.length).toBeGreaterThan(0);

    await publishScope(origin, 'registry.acme.io/carry');
    const m2 = await manifestOf((await exportTo(origin, 'carry-2.tar')).out);
    expect(m2.log.consistency.map((c) => c.size)).toContain(cp1.size);
  });
});

describe('the log key of a bundle', () => {
  it("must be the one the origin's signed targets state, from the first import on (no trust on first use): LOG_INCONSISTENT", async () => {
    const fresh = (await newDataDir()).dataDir;
    const b = await exportTo(origin, 'key-1.tar');
    const m = await manifestOf(b.out);
    // A courier's own log key under the origin's log name, with a checkpoint it signed over the same tree.
    const name = m.log.key.split('+')[0]!;
    const courier = NoteSigner.generate(name);
    const text = m.log.checkpoint.slice(0, m.log.checkpoint.indexOf('\n\n') + 1);
    const swapped = await editManifest(b.out, (x) => {
      x.log.key = courier.verifierKey();
      x.log.checkpoint = signNote(text, [courier]);
    });
    const before = await siteState(fresh, b.origin);
    expect(await codeOf(into(fresh, swapped))).toBe('LOG_INCONSISTENT');
    expect(await siteState(fresh, b.origin)).toBe(before);
    expect((await into(fresh, b.out)).changed).toBe(true);
  });
});

describe('an air-gapped site checks it offline', () => {
  let site: string;
  let originId: string;
  let bundle1: string;

  beforeAll(async () => {
    site = (await newDataDir()).dataDir;
    const b = await exportTo(origin, 'site-1.tar');
    bundle1 = b.out;
    originId = b.origin;
  }, 60_000);

  it('accepts a logged bundle and keeps the log key and checkpoint', async () => {
    expect((await into(site, bundle1)).changed).toBe(true);
    const store = await openStore({ dataDir: site });
    try {
      const state = (await store.getUpstream(originId))!.state as { log?: { key: string; checkpoint: string } };
      expect(state.log?.checkpoint).toBe((await manifestOf(bundle1)).log.checkpoint);
    } finally {
      await store.close();
    }
  });

  it('refuses a bundle whose timestamp entry was swapped or whose proof does not hold: NOT_LOGGED, site unchanged', async () => {
    await publishScope(origin, 'registry.acme.io/next');
    const next = (await exportTo(origin, 'site-2.tar')).out;
    const before = await siteState(site, originId);
    const other = (await manifestOf(bundle1)).log.entry;
    const swapped = await editManifest(next, (m) => (m.log.entry = other));
    expect(await codeOf(into(site, swapped))).toBe('NOT_LOGGED');
    const badProof = await editManifest(next, (m) => (m.log.inclusion = m.log.inclusion.map(() => Buffer.alloc(32, 7).toString('base64'))));
    expect(await codeOf(into(site, badProof))).toBe('NOT_LOGGED');
    const unlogged = await editManifest(next, (m) => delete (m as { log?: unknown }).log);
    expect(await codeOf(into(site, unlogged))).toBe('NOT_LOGGED');
    expect(await siteState(site, originId)).toBe(before);
    // The untouched bundle is accepted: its checkpoint extends the kept one (consistency proof).
    expect((await into(site, next)).changed).toBe(true);
  });

  it('refuses a checkpoint not signed by the pinned log key: LOG_INCONSISTENT', async () => {
    await publishScope(origin, 'registry.acme.io/forged');
    const next = (await exportTo(origin, 'site-3.tar')).out;
    const before = await siteState(site, originId);
    const forged = await editManifest(next, (m) => (m.log.checkpoint = m.log.checkpoint.replace(/\n(\d+)\n/, (_, n: string) => `\n${Number(n) + 1}\n`)));
    expect(await codeOf(into(site, forged))).toBe('LOG_INCONSISTENT');
    expect(await siteState(site, originId)).toBe(before);
    expect((await into(site, next)).changed).toBe(true);
  });

  // SQLite only: the fork is a copy of the origin's data dir, which copies a SQLite database but
  // shares a PostgreSQL one (the split view itself is checked by the importer, whatever the store).
  itSqlite('refuses the bundle of a forked origin (a split view): LOG_INCONSISTENT, site unchanged', async () => {
    // Two copies of the origin's data dir, same keys, different histories from here on.
    const fork = join(tempDir('keyshare-fork-'), 'data');
    cpSync(origin, fork, { recursive: true });
    await publishScope(origin, 'registry.acme.io/honest');
    const honest = (await exportTo(origin, 'honest.tar')).out;
    // The fork publishes the same change and more, so that every TUF version (each bin's too) is higher and only the log tells the histories apart.
    for (const s of ['honest', 'fork-a', 'fork-b', 'fork-c']) await publishScope(fork, `registry.acme.io/${s}`);
    const forked = (await exportTo(fork, 'forked.tar')).out;

    expect((await into(site, honest)).changed).toBe(true);
    const before = await siteState(site, originId);
    expect(await codeOf(into(site, forked))).toBe('LOG_INCONSISTENT');
    // With a consistency proof made up for the size the site holds: still refused.
    const kept = (await manifestOf(honest)).log;
    const keptSize = parseCheckpoint(kept.checkpoint.slice(0, kept.checkpoint.indexOf('\n\n') + 1)).size;
    const faked = await editManifest(forked, (m) => m.log.consistency.push({ size: keptSize, proof: kept.inclusion }));
    expect(await codeOf(into(site, faked))).toBe('LOG_INCONSISTENT');
    expect(await siteState(site, originId)).toBe(before);
  }, 30_000); // five publishes and three imports: slow on a loaded machine
});
