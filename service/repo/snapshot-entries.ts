/**
 * A snapshot's meta kept as sorted file names and versions (bench B2, issue
 * 17: at 100k scopes the snapshot lists over 1,000 bins, a publish changes one or two, and
 * building, sorting and canonicalising every entry as objects again was most of a one-scope
 * publish). The next snapshot copies the lists and sets the changed versions; its canonical form
 * (TUF spec 4.2, what is signed) and its stored JSON embed the same text of the entries.
 *
 * This holds only for entries that are `{"version": N}` under a name of printable ASCII without
 * `"` or `\` (keyshare's role names): there, OLPC canonical JSON and JSON.stringify write the same
 * text. Any other meta is left to @tufjs/models (fromMeta gives null).
 */
import { MetaFile } from '@tufjs/models';
import type { Signer } from '../crypto/signer.js';
import type { MetadataRecord } from '../store/index.js';
import { lowerBound } from '../domain/dirty.js';

const SIMPLE_NAME = /^[\x20-\x21\x23-\x5b\x5d-\x7e]+$/;

export class SnapshotEntries {
  private constructor(
    private readonly names: readonly string[],
    private readonly versions: readonly number[],
  ) {}

  /** The entries of a parsed meta, or null when one of them is not a bare version under a simple name. */
  static fromMeta(meta: Record<string, MetaFile>): SnapshotEntries | null {
    const names = Object.keys(meta).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const versions: number[] = [];
    for (const name of names) {
      const file = meta[name]!;
      const bare = file.length === undefined && file.hashes === undefined && Object.keys(file.unrecognizedFields ?? {}).length === 0;
      if (!bare || !SIMPLE_NAME.test(name) || !Number.isSafeInteger(file.version)) return null;
      versions.push(file.version);
    }
    return new SnapshotEntries(names, versions);
  }

  /** These entries with each of `records` (`<role>.json`) at its version; null when a role name is not simple. */
  with(records: readonly Pick<MetadataRecord, 'role' | 'version'>[]): SnapshotEntries | null {
    const names = [...this.names];
    const versions = [...this.versions];
    for (const r of records) {
      const name = `${r.role}.json`;
      if (!SIMPLE_NAME.test(name) || !Number.isSafeInteger(r.version)) return null;
      const i = lowerBound(names, name);
      if (names[i] === name) versions[i] = r.version;
      else {
        names.splice(i, 0, name);
        versions.splice(i, 0, r.version);
      }
    }
    return new SnapshotEntries(names, versions);
  }

  /** The same entries as @tufjs/models MetaFiles. */
  toMeta(): Record<string, MetaFile> {
    return Object.fromEntries(this.names.map((name, i) => [name, new MetaFile({ version: this.versions[i]! })]));
  }

  /** `{ "<role>.json": { "version": N }, ... }` as the JSON object text both forms embed. */
  json(): string {
    return `{${this.names.map((name, i) => `"${name}":{"version":${this.versions[i]}}`).join(',')}}`;
  }

  /**
   * The signed snapshot's bytes, as metadataBytes (tuf.ts) writes them, signed over the canonical
   * form (TUF spec 4.2) as signMetadata does.
   */
  async signed(input: { specVersion: string; version: number; expires: string; signer: Signer }): Promise<Buffer> {
    const { specVersion, version, expires, signer } = input;
    const meta = this.json();
    const [spec, exp] = [JSON.stringify(specVersion), JSON.stringify(expires)];
    // Canonical JSON: keys sorted, no white space (@tufjs/canonical-json).
    const canonical = `{"_type":"snapshot","expires":${exp},"meta":${meta},"spec_version":${spec},"version":${version}}`;
    const sig = Buffer.from(await signer.sign(Buffer.from(canonical))).toString('hex');
    // tuf.ts metadataBytes: signatures, then signed in @tufjs/models' field order.
    const signatures = JSON.stringify([{ keyid: signer.keyid, sig }]);
    return Buffer.from(`{"signatures":${signatures},"signed":{"_type":"snapshot","meta":${meta},"spec_version":${spec},"version":${version},"expires":${exp}}}`);
  }
}
