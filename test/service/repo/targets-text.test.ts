/**
 * Bench B9 (issue 17): a simple targets-type role is signed and written from its entries' text
 * (service/repo/targets-text.ts), not through @tufjs/models' objects. The bytes must be the ones
 * @tufjs/models writes, signed over @tufjs/canonical-json's canonical form (Ed25519 signatures
 * are deterministic, so whole files compare); roles that are not simple take the generic path
 * and give the same bytes too.
 */
import { describe, expect, it } from 'vitest';
import { canonicalize } from '@tufjs/canonical-json';
import { Metadata, Signature, TargetFile, Targets } from '@tufjs/models';
import { Delegations } from '@tufjs/models/dist/delegations.js';
import { DelegatedRole, SuccinctRoles } from '@tufjs/models/dist/role.js';
import { FileSigner, generateSigningKeyPem } from '../../../service/crypto/signer.js';
import { targetsTexts } from '../../../service/repo/targets-text.js';
import { SPEC_VERSION, signedBytes, tufKey } from '../../../service/repo/tuf.js';

const signer = new FileSigner(generateSigningKeyPem());
const expires = '2031-01-02T03:04:05Z';
const hex = (i: number) => i.toString(16).padStart(64, '0');
const file = (path: string, i: number, extra: Partial<ConstructorParameters<typeof TargetFile>[0]> = {}) =>
  new TargetFile({ path, length: 100 + i, hashes: { sha256: hex(i) }, ...extra });

/** The role as @tufjs/models writes it, signed over canonicalize's form. */
async function byModels(t: Targets): Promise<Buffer> {
  const md = new Metadata(t);
  const sig = await signer.sign(Buffer.from(canonicalize(md.signed.toJSON())));
  md.signatures[signer.keyid] = new Signature({ keyID: signer.keyid, sig: Buffer.from(sig).toString('hex') });
  return Buffer.from(JSON.stringify(md.toJSON()));
}

const targets = (files: TargetFile[], extra: Partial<ConstructorParameters<typeof Targets>[0]> = {}) =>
  new Targets({ version: 12, specVersion: SPEC_VERSION, expires, targets: Object.fromEntries(files.map((f) => [f.path, f])), ...extra });

const bin = Array.from({ length: 90 }, (_, i) => file(i % 3 ? `trust/r${i}.acme.example.json` : i % 2 ? `crl/${hex(i)}.crl` : `index/${i.toString(16)}.json`, i));

describe('a targets-type role written from its entries', () => {
  const cases: [string, Targets, boolean][] = [
    ['a bin of trust files, CRLs and shards, in no order', targets([...bin].reverse()), true],
    ['an empty bin', targets([]), true],
    ['a role delegating to hashed bins', targets([], { delegations: new Delegations({ keys: { [signer.keyid]: tufKey(signer.keyid, signer.publicKey) }, succinctRoles: new SuccinctRoles({ keyIDs: [signer.keyid], threshold: 1, bitLength: 7, namePrefix: 'bin' }) }) }), true],
    [
      'a role with paths delegations and targets',
      targets(bin.slice(0, 5), { delegations: new Delegations({ keys: {}, roles: { shards: new DelegatedRole({ name: 'shards', keyIDs: [signer.keyid], threshold: 1, terminating: true, paths: ['index/*'] }) } }) }),
      true,
    ],
    ['a target with custom fields (not simple)', targets([...bin.slice(0, 3), file('index.json', 7, { unrecognizedFields: { custom: { b: 1, a: 'x' } } })]), false],
    ['a target with two hashes (not simple)', targets([file('trust/a.json', 1, { hashes: { sha512: 'ab', sha256: hex(1) } })]), false],
    ['a path with a quote, a backslash or non-ASCII (not simple)', targets([file('trust/"q\\.json', 1), file('trust/é.json', 2)]), false],
    ['unknown fields in the role (not simple)', targets(bin.slice(0, 3), { unrecognizedFields: { x_custom: { z: 1, a: [1] } } }), false],
  ];
  for (const [name, t, simple] of cases) {
    it(`signs and writes the bytes @tufjs/models writes: ${name}`, async () => {
      expect(targetsTexts(t) !== null).toBe(simple);
      expect((await signedBytes(new Metadata(t), [signer])).toString('utf8')).toBe((await byModels(t)).toString('utf8'));
    });
  }
});
