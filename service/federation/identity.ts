/**
 * Repository identities and root chains.
 *
 * A repository's identity is its origin ID (shared/bundle/format.ts originOf): a hash of its
 * version 1 root, the same across root rotations. This service's own is read from its stored
 * root version 1; an upstream's from the chain of roots 1 → pinned, each signed by a threshold
 * of the previous root's keys and of its own (TUF 5.3.4), so that an identity cannot be
 * claimed by another repository. A mirror also serves every root version, so that clients
 * pinned to any of them can walk forward: the whole chain 1 → newest is checked the same way.
 */
import { canonicalize } from '@tufjs/canonical-json';
import { Metadata, MetadataKind, type Root } from '@tufjs/models';
import { KeyshareError } from '../errors.js';
import type { Store } from '../store/index.js';
import { FetchCodes } from '../../shared/fetch.js';
import { MAX_ROOT_BYTES } from '../../shared/fetch.js';
import { originOf } from '../../shared/bundle/format.js';
import { UpstreamCodes } from './upstream/errors.js';

/** The most root versions a chain may have (tuf-js's maxRootRotations). */
export const MAX_ROOT_VERSIONS = 256;

export function parseRootBytes(bytes: Uint8Array, what: string): Metadata<Root> {
  try {
    return Metadata.fromJSON(MetadataKind.Root, JSON.parse(Buffer.from(bytes).toString('utf8')));
  } catch (e) {
    throw new KeyshareError(FetchCodes.ROOT_INVALID, `${what} is not TUF root metadata: ${(e as Error).message}`, { cause: e });
  }
}

/** This service's identity: the origin ID of its own repository. */
export async function selfIdentity(store: Store): Promise<string | null> {
  const root1 = await store.getMetadata('root', 1);
  return root1 ? originOf(parseRootBytes(root1.bytes, 'root version 1').signed.toJSON()) : null;
}

const canonical = (md: Metadata<Root>) => Buffer.from(canonicalize(md.signed.toJSON() as never)).toString('base64');

/** TUF 5.3.4: `next` is signed by a threshold of `trusted`'s root keys and of its own. */
function checkStep(trusted: Metadata<Root>, next: Metadata<Root>, version: number): void {
  if (next.signed.version !== version) throw new KeyshareError(FetchCodes.ROLLBACK, `${version}.root.json holds root version ${next.signed.version}`);
  try {
    trusted.verifyDelegate(MetadataKind.Root, next);
    next.verifyDelegate(MetadataKind.Root, next);
  } catch (e) {
    throw new KeyshareError(FetchCodes.BAD_SIGNATURE, `root version ${version} is not signed by a threshold of root version ${trusted.signed.version}'s keys and its own: ${(e as Error).message}`, { cause: e });
  }
}

export interface RootChain {
  origin: string;
  /** Every root version 1..newest, as served (byte for byte). */
  roots: Map<number, Buffer>;
}

/**
 * Checks the chain of roots 1..`upTo` and that `pinned` and `newest` are links of it. Versions
 * missing from `known` are downloaded with `download` (at most MAX_ROOT_BYTES each).
 */
export async function verifyRootChain(options: {
  pinned: Buffer;
  /** The newest root the verified client trusts (null: up to the pinned one). */
  newest: Buffer | null;
  known: ReadonlyMap<number, Buffer>;
  download: (version: number) => Promise<Buffer>;
}): Promise<RootChain> {
  const pinned = parseRootBytes(options.pinned, 'the pinned root');
  const newest = options.newest ? parseRootBytes(options.newest, 'the newest root') : pinned;
  const upTo = Math.max(newest.signed.version, pinned.signed.version);
  if (upTo > MAX_ROOT_VERSIONS) throw new KeyshareError(FetchCodes.METADATA_INVALID, `the repository has more than ${MAX_ROOT_VERSIONS} root versions`);
  const roots = new Map<number, Buffer>();
  let previous: Metadata<Root> | null = null;
  for (let v = 1; v <= upTo; v++) {
    let bytes = options.known.get(v) ?? null;
    if (!bytes && v === pinned.signed.version) bytes = options.pinned;
    if (!bytes && v === newest.signed.version && options.newest) bytes = options.newest;
    if (!bytes) bytes = await options.download(v);
    if (bytes.length > MAX_ROOT_BYTES) throw new KeyshareError(UpstreamCodes.TOO_LARGE, `root version ${v} is larger than ${MAX_ROOT_BYTES} bytes`);
    const md = parseRootBytes(bytes, `root version ${v}`);
    checkStep(previous ?? md, md, v);
    if (v === pinned.signed.version && canonical(md) !== canonical(pinned)) {
      throw new KeyshareError(FetchCodes.BAD_SIGNATURE, `the pinned root is not version ${v} of this repository's root chain: wrong server or root`);
    }
    if (v === newest.signed.version && canonical(md) !== canonical(newest)) {
      throw new KeyshareError(FetchCodes.BAD_SIGNATURE, `root version ${v} differs from the one the verified client accepted`);
    }
    roots.set(v, bytes);
    previous = md;
  }
  return { origin: originOf(parseRootBytes(roots.get(1)!, 'root version 1').signed.toJSON()), roots };
}
