/**
 * The RFC 6962 Merkle tree of the transparency log (issue 23; C2SP tlog-tiles: "all Merkle tree
 * cryptographic operations are as specified by RFC 6962", SHA-256). Pure: hashes come from a
 * NodeReader, the caller's port onto stored or fetched hashes.
 *
 * A node (level l, index i) is MTH(D[i·2^l : (i+1)·2^l]), the hash of one complete, aligned
 * subtree; level 0 holds the leaf hashes. The log stores exactly these nodes (newNodes), tiles
 * are rows of them (C2SP tlog-tiles: level-L tiles hold the nodes of level 8L), and every root
 * and proof below is computed from them.
 */
import { sha256Bytes } from '../hash.js';

export type Hash = Uint8Array;
export const HASH_SIZE = 32;

export interface NodeId {
  level: number;
  index: number;
}

/** Reads stored node hashes. Proof code asks only for nodes that exist in the tree it is given. */
export type NodeReader = (level: number, index: number) => Hash;

export class ProofError extends Error {
  override name = 'ProofError';
}

const sha256 = (...parts: Uint8Array[]): Hash => new Uint8Array(sha256Bytes(...parts));

/** RFC 6962 2.1: MTH({d(0)}) = SHA-256(0x00 || d(0)). */
export const hashLeaf = (data: Uint8Array): Hash => sha256(Uint8Array.of(0), data);
/** RFC 6962 2.1: SHA-256(0x01 || MTH(left) || MTH(right)). */
export const hashChildren = (left: Hash, right: Hash): Hash => sha256(Uint8Array.of(1), left, right);
/** RFC 6962 2.1: the hash of an empty list is the hash of an empty string. */
export const EMPTY_ROOT: Hash = sha256();

/**
 * The nodes that appending leaf `index` (with hash `leaf`) completes, in order: the leaf, then
 * each parent whose right child it completes. `read` gives the left siblings, already stored.
 */
export function newNodes(index: number, leaf: Hash, read: NodeReader): { id: NodeId; hash: Hash }[] {
  const out = [{ id: { level: 0, index }, hash: leaf }];
  let h = leaf;
  for (let level = 0, i = index; i % 2 === 1; level++, i = (i - 1) / 2) {
    h = hashChildren(read(level, i - 1), h);
    out.push({ id: { level: level + 1, index: (i - 1) / 2 }, hash: h });
  }
  return out;
}

/** The largest power of two smaller than n (n > 1): RFC 6962 2.1's split point k. */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** Safe beyond 2^31, unlike a bitwise test. */
const isPowerOfTwo = (n: number) => n > 0 && Number.isInteger(Math.log2(n));

/** MTH(D[lo:hi]) where lo is a multiple of the largest power of two ≤ hi - lo (as RFC 6962's recursion produces). */
function subtreeHash(lo: number, hi: number, read: NodeReader): Hash {
  const n = hi - lo;
  if (isPowerOfTwo(n)) return read(Math.log2(n), lo / n);
  const k = split(n);
  return hashChildren(subtreeHash(lo, lo + k, read), subtreeHash(lo + k, hi, read));
}

/** MTH(D[0:size]). */
export function treeHash(size: number, read: NodeReader): Hash {
  return size === 0 ? EMPTY_ROOT : subtreeHash(0, size, read);
}

/** RFC 6962 2.1.1 PATH(m, D[lo:hi]): the inclusion proof of leaf m. */
function path(m: number, lo: number, hi: number, read: NodeReader): Hash[] {
  const n = hi - lo;
  if (n === 1) return [];
  const k = split(n);
  return m < lo + k ? [...path(m, lo, lo + k, read), subtreeHash(lo + k, hi, read)] : [...path(m, lo + k, hi, read), subtreeHash(lo, lo + k, read)];
}

export function inclusionProof(index: number, size: number, read: NodeReader): Hash[] {
  if (!(index >= 0 && index < size)) throw new ProofError(`leaf ${index} is not in a tree of size ${size}`);
  return path(index, 0, size, read);
}

/** RFC 6962 2.1.2 SUBPROOF(m, D[lo:hi], b). */
function subproof(m: number, lo: number, hi: number, complete: boolean, read: NodeReader): Hash[] {
  const n = hi - lo;
  if (m === n) return complete ? [] : [subtreeHash(lo, hi, read)];
  const k = split(n);
  return m <= k ? [...subproof(m, lo, lo + k, complete, read), subtreeHash(lo + k, hi, read)] : [...subproof(m - k, lo + k, hi, false, read), subtreeHash(lo, lo + k, read)];
}

/** RFC 6962 2.1.2 PROOF(m, D[n]): the consistency proof from size m to size n. */
export function consistencyProof(m: number, n: number, read: NodeReader): Hash[] {
  if (!(m >= 0 && m <= n)) throw new ProofError(`no consistency proof from size ${m} to ${n}`);
  if (m === 0 || m === n) return [];
  return subproof(m, 0, n, true, read);
}

const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

/** RFC 9162 2.1.3.2: verifies that `leaf` is leaf `index` of the tree of `size` with `root`. */
export function verifyInclusion(leaf: Hash, index: number, size: number, proof: Hash[], root: Hash): void {
  if (!(index >= 0 && index < size)) throw new ProofError(`leaf ${index} is not in a tree of size ${size}`);
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) throw new ProofError('the inclusion proof is too long');
    if (fn % 2 === 1 || fn === sn) {
      r = hashChildren(p, r);
      if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) [fn, sn] = [fn / 2, Math.floor(sn / 2)];
    } else {
      r = hashChildren(r, p);
    }
    [fn, sn] = [Math.floor(fn / 2), Math.floor(sn / 2)];
  }
  if (sn !== 0 || !equal(r, root)) throw new ProofError(`leaf ${index} is not in the tree of size ${size} with this root`);
}

/** RFC 9162 2.1.4.2: verifies that the tree (size1, root1) is a prefix of the tree (size2, root2). */
export function verifyConsistency(size1: number, size2: number, proof: Hash[], root1: Hash, root2: Hash): void {
  if (!(size1 >= 0 && size1 <= size2)) throw new ProofError(`a tree of size ${size2} cannot extend one of size ${size1}`);
  if (size1 === size2) {
    if (proof.length !== 0 || !equal(root1, root2)) throw new ProofError(`two different trees of size ${size1}`);
    return;
  }
  if (size1 === 0) {
    if (proof.length !== 0) throw new ProofError('a consistency proof from the empty tree is empty');
    return;
  }
  if (proof.length === 0) throw new ProofError('the consistency proof is empty');
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : proof;
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (fn % 2 === 1) [fn, sn] = [(fn - 1) / 2, Math.floor(sn / 2)];
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) throw new ProofError('the consistency proof is too long');
    if (fn % 2 === 1 || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) [fn, sn] = [fn / 2, Math.floor(sn / 2)];
    } else {
      sr = hashChildren(sr, c);
    }
    [fn, sn] = [Math.floor(fn / 2), Math.floor(sn / 2)];
  }
  if (sn !== 0 || !equal(fr, root1) || !equal(sr, root2)) throw new ProofError(`the tree of size ${size2} does not extend the tree of size ${size1}`);
}

/**
 * The nodes a computation reads, found by running it against a reader that records each
 * request (which nodes a proof needs depends only on sizes and indices, never on hash values),
 * so that an adapter can fetch them all at once before the real run.
 */
export function nodesNeeded(run: (read: NodeReader) => unknown): NodeId[] {
  const seen = new Map<string, NodeId>();
  run((level, index) => {
    seen.set(`${level}/${index}`, { level, index });
    return new Uint8Array(HASH_SIZE);
  });
  return [...seen.values()];
}
