/**
 * A targets-type role's canonical form (what is signed, TUF spec 4.2) and stored JSON written as
 * text, entry by entry, instead of through @tufjs/models objects, their toJSON copies and a
 * generic canonicaliser (bench B9: a parent change re-signs every bin, 10,000 entries at 10k
 * scopes). The same text as tuf.ts signMetadata + metadataBytes; test/service/repo/targets-text.test.ts
 * compares whole signed files (Ed25519 is deterministic).
 *
 * Only for roles whose every field is known and whose entries are `{length, hashes: {sha256}}`
 * under a path of printable ASCII without `"` or `\` (keyshare's trust and CRL paths and shards):
 * there, OLPC canonical JSON and JSON.stringify write the entries' paths and hex digests alike.
 * Anything else gives null, and is left to the generic path.
 */
import type { Targets } from '@tufjs/models';
import { canonicalJson, canonicalString } from '../../shared/canonical-json.js';

const SIMPLE_PATH = /^[\x20-\x21\x23-\x5b\x5d-\x7e]+$/;
const HEX = /^[0-9a-f]*$/;

/** Whether `items` are in code-unit order of their keys (canonical JSON's key order, TUF spec 4.2); a string is its own key. */
export function isSorted<T>(items: readonly T[], key: (item: T) => string = (item) => item as string): boolean {
  for (let i = 1; i < items.length; i++) if (key(items[i - 1]!) > key(items[i]!)) return false;
  return true;
}

/** The signed part of `t` as [canonical JSON, JSON in @tufjs/models' field order], or null when it is not simple. */
export function targetsTexts(t: Targets): [canonical: string, json: string] | null {
  if (Object.keys(t.unrecognizedFields).length > 0 || !Number.isSafeInteger(t.version)) return null;
  const paths = Object.keys(t.targets);
  // One pass writes both texts when the paths are in order, as writer.ts nextTargets lists them (bench B9: 100k entries a parent change).
  const inOrder = isSorted(paths);
  let json = '';
  let canonical = '';
  for (const path of paths) {
    const file = t.targets[path]!;
    const hashes = file.hashes;
    const sha256 = hashes.sha256;
    if (
      !SIMPLE_PATH.test(path) ||
      file.path !== path ||
      !Number.isSafeInteger(file.length) ||
      typeof sha256 !== 'string' ||
      !HEX.test(sha256) ||
      Object.keys(hashes).length !== 1 ||
      Object.keys(file.unrecognizedFields).length > 0
    ) {
      return null;
    }
    const sep = json === '' ? '' : ',';
    json += `${sep}"${path}":{"length":${file.length},"hashes":{"sha256":"${sha256}"}}`;
    if (inOrder) canonical += `${sep}"${path}":{"hashes":{"sha256":"${sha256}"},"length":${file.length}}`;
  }
  // Canonical JSON sorts keys by code unit, as this comparison does.
  if (!inOrder) {
    canonical = paths
      .slice()
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
      .map((path) => {
        const file = t.targets[path]!;
        return `"${path}":{"hashes":{"sha256":"${file.hashes.sha256}"},"length":${file.length}}`;
      })
      .join(',');
  }
  const delegations = t.delegations?.toJSON();
  return [
    `{"_type":"targets",${delegations ? `"delegations":${canonicalJson(delegations)},` : ''}"expires":${canonicalString(t.expires)},"spec_version":${canonicalString(t.specVersion)},"targets":{${canonical}},"version":${t.version}}`,
    `{"_type":"targets","spec_version":${JSON.stringify(t.specVersion)},"version":${t.version},"expires":${JSON.stringify(t.expires)},"targets":{${json}}${delegations ? `,"delegations":${JSON.stringify(delegations)}` : ''}}`,
  ];
}
