/** Root metadata (TUF spec 4.3): the root keys and threshold, and the online roles' keys. */
import { Metadata, Root } from '@tufjs/models';
import { tufKeyId, type Signer, type TufPublicKey } from '../crypto/signer.js';
import { KeyshareError, Codes } from '../errors.js';
import type { OnlineSigners } from './keys.js';
import { SPEC_VERSION, expiresAt, signMetadata, tufKey } from './tuf.js';

export interface RootSpec {
  version: number;
  now: Date;
  lifetimeSeconds: number;
  rootKeys: TufPublicKey[];
  rootThreshold: number;
  online: OnlineSigners;
}

export function buildRoot(spec: RootSpec): Metadata<Root> {
  const rootIds = spec.rootKeys.map(tufKeyId);
  // Security habit: thresholds count distinct key IDs.
  if (new Set(rootIds).size !== rootIds.length) throw new KeyshareError(Codes.DUPLICATE_KEY, 'the same root key is listed twice');
  if (spec.rootThreshold < 1 || spec.rootThreshold > rootIds.length) {
    throw new KeyshareError(Codes.CONFIG_INVALID, `the root threshold must be between 1 and ${rootIds.length}`);
  }
  const keys: Record<string, ReturnType<typeof tufKey>> = {};
  spec.rootKeys.forEach((k, i) => (keys[rootIds[i]!] = tufKey(rootIds[i]!, k)));
  for (const s of Object.values(spec.online)) keys[s.keyid] = tufKey(s.keyid, s.publicKey);
  const root = Root.fromJSON({
    _type: 'root',
    spec_version: SPEC_VERSION,
    version: spec.version,
    expires: expiresAt(spec.now, spec.lifetimeSeconds),
    consistent_snapshot: true,
    keys: Object.fromEntries(Object.entries(keys).map(([id, k]) => [id, k.toJSON()])),
    roles: {
      root: { keyids: rootIds, threshold: spec.rootThreshold },
      targets: { keyids: [spec.online.targets.keyid], threshold: 1 },
      snapshot: { keyids: [spec.online.snapshot.keyid], threshold: 1 },
      timestamp: { keyids: [spec.online.timestamp.keyid], threshold: 1 },
    },
  });
  return new Metadata(root);
}

export async function signRoot(md: Metadata<Root>, signers: Signer[]): Promise<void> {
  await signMetadata(md, signers);
}
