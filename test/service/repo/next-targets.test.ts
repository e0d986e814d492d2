/**
 * Bench B9 (issue 17): writer.ts nextTargets merges a list of changes into a role's listed paths
 * and groupByRole hands it lists. The next role must list what applying the changes one by one
 * and sorting the paths lists (TUF spec 4.2: canonical JSON's key order), with the same bytes
 * signed: new paths, removed paths, changes in any order, a role listed out of order.
 */
import { describe, expect, it } from 'vitest';
import { Metadata, TargetFile, Targets } from '@tufjs/models';
import { FileSigner, generateSigningKeyPem } from '../../../service/crypto/signer.js';
import { nextTargets, targetFile } from '../../../service/repo/writer.js';
import { SPEC_VERSION, signedBytes } from '../../../service/repo/tuf.js';

const signer = new FileSigner(generateSigningKeyPem());
const expires = '2031-01-02T03:04:05Z';
const bytes = (i: number) => Buffer.from(`document ${i}`);
const path = (i: number) => (i % 5 ? `trust/r${i}.acme.example.json` : i % 2 ? `trust/acme.example/p${i}.json` : `index/${i.toString(16)}.json`);

/** The next targets by the definition: every change applied to a copy, then the paths sorted. */
function reference(old: Targets, changes: [string, Buffer | null][]): Targets {
  const targets: Record<string, TargetFile> = { ...old.targets };
  for (const [p, b] of changes) {
    if (b) targets[p] = targetFile(p, b);
    else delete targets[p];
  }
  const sorted = Object.fromEntries(Object.entries(targets).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return new Targets({ version: old.version + 1, specVersion: SPEC_VERSION, expires, targets: sorted });
}

const role = (ids: number[]) => new Targets({ version: 3, specVersion: SPEC_VERSION, expires, targets: Object.fromEntries(ids.map((i) => [path(i), targetFile(path(i), bytes(i))])) });
const sign = async (t: Targets) => (await signedBytes(new Metadata(t), [signer])).toString('utf8');

describe('nextTargets', () => {
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let round = 0; round < 40; round++) {
    it(`lists what applying the changes one by one lists (case ${round})`, async () => {
      const listed = Array.from({ length: Math.floor(random() * 60) }, () => Math.floor(random() * 200));
      const ordered = round % 3 === 0 ? [...new Set(listed)] : [...new Set(listed)].sort((a, b) => (path(a) < path(b) ? -1 : 1));
      const old = role(ordered);
      const changes: [string, Buffer | null][] = [];
      for (let k = Math.floor(random() * 80); k > 0; k--) {
        const i = Math.floor(random() * 220);
        if (!changes.some(([p]) => p === path(i))) changes.push([path(i), random() < 0.2 ? null : bytes(i + 1000 * round)]);
      }
      if (round % 2 === 0) changes.sort(([a], [b]) => (a < b ? -1 : 1));
      const want = reference(old, changes);
      for (const given of [changes, new Map(changes)]) {
        const got = nextTargets(old, expires, given);
        expect(Object.keys(got.targets)).toEqual(Object.keys(want.targets));
        expect(await sign(got)).toBe(await sign(want));
      }
    });
  }
});
