/**
 * `keyshare diff --bundle FILE --root ROOT [--from-bundle OLDER]` (issue 21): the diff of
 * `keyshare diff`, computed offline on bundles. Each bundle is extracted and verified against the
 * pinned root exactly as `bundle import` verifies it (verify.ts: bundle.json digests, the root
 * chain, the TUF client workflow), and only its verified trust documents are compared, with the
 * same service/domain/history.ts diffOf as a server's diff. Nothing is stored.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diffOf, type VersionDiff } from '../../service/domain/history.js';
import type { TrustContent } from '../../service/domain/trust.js';
import { BundleCodes, bundleError } from '../../shared/bundle/errors.js';
import { extractBundle } from '../../shared/bundle/extract.js';
import { BUNDLE_JSON, parseManifest } from '../../shared/bundle/format.js';
import { verifyBundle } from './verify.js';

/** A bundle's verified trust: its timestamp version and every scope's document. */
export interface BundleTrust {
  origin: string;
  version: number;
  documents: Map<string, TrustContent>;
}

/** Extracts and verifies `file` against `root` at `now`; the trust documents it carries. */
export async function readBundleTrust(file: string, root: Buffer, now: Date): Promise<BundleTrust> {
  const scratch = mkdtempSync(join(tmpdir(), 'keyshare-bundle-diff-'));
  try {
    const dir = join(scratch, 'bundle');
    const extracted = await extractBundle(file, dir);
    // An incremental bundle lacks the files of its base, which only an importing site holds.
    if (extracted.has(BUNDLE_JSON) && parseManifest(readFileSync(join(dir, BUNDLE_JSON))).since) {
      throw bundleError(BundleCodes.BUNDLE_GAP, `${file} is an incremental bundle (bundle export --since): diff needs full bundles`);
    }
    const verified = await verifyBundle(dir, extracted, root, now, join(scratch, 'work'));
    const documents = new Map<string, TrustContent>();
    for (const t of verified.targets) {
      if (!t.path.startsWith('trust/')) continue;
      const doc = JSON.parse(readFileSync(t.file, 'utf8')) as TrustContent & { scope: string };
      documents.set(doc.scope, doc);
    }
    return { origin: verified.origin, version: verified.timestamp.version, documents };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** What changed from the older bundle (none: an empty repository) to the newer one, for the scopes under `scope`. */
export async function diffBundles(options: { bundle: string; from?: string; root: Buffer; scope?: string | null; now?: Date }): Promise<VersionDiff & { origin: string }> {
  const now = options.now ?? new Date();
  const after = await readBundleTrust(options.bundle, options.root, now);
  const before = options.from ? await readBundleTrust(options.from, options.root, now) : null;
  if (before && before.origin !== after.origin) {
    throw bundleError(BundleCodes.BUNDLE_INVALID, `the bundles come from two repositories (origins ${before.origin} and ${after.origin})`);
  }
  return {
    origin: after.origin,
    from: before?.version ?? 0,
    to: after.version,
    scope: options.scope ?? null,
    changes: diffOf(before?.documents ?? new Map(), after.documents, options.scope),
  };
}
