import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  EMPTY_ROOT,
  consistencyProof,
  hashLeaf,
  inclusionProof,
  newNodes,
  nodesNeeded,
  treeHash,
  verifyConsistency,
  verifyInclusion,
  type Hash,
} from '../../../shared/tlog/merkle.js';
import { decodeTile, tileReader, tilesFor, tileNodes, tileKey } from '../../../shared/tlog/tiles.js';

/** An independent RFC 6962 2.1 MTH, straight from the definition (recursion on the leaves). */
function naiveRoot(leaves: Uint8Array[]): string {
  const h = (...parts: Uint8Array[]) => {
    const x = createHash('sha256');
    for (const p of parts) x.update(p);
    return x.digest();
  };
  const mth = (d: Uint8Array[]): Buffer => {
    if (d.length === 0) return h();
    if (d.length === 1) return h(Buffer.of(0), d[0]!);
    let k = 1;
    while (k * 2 < d.length) k *= 2;
    return h(Buffer.of(1), mth(d.slice(0, k)), mth(d.slice(k)));
  };
  return mth(leaves).toString('hex');
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const leafData = (i: number) => Buffer.from(`leaf ${i}`);

/** A log in memory: the nodes newNodes stores, as the store keeps them. */
function buildLog(n: number) {
  const nodes = new Map<string, Hash>();
  const read = (level: number, index: number) => {
    const h = nodes.get(`${level}/${index}`);
    if (!h) throw new Error(`node ${level}/${index} not stored`);
    return h;
  };
  for (let i = 0; i < n; i++) for (const { id, hash } of newNodes(i, hashLeaf(leafData(i)), read)) nodes.set(`${id.level}/${id.index}`, hash);
  return { nodes, read };
}

describe('the RFC 6962 Merkle tree', () => {
  it('gives the empty tree the SHA-256 of the empty string', () => {
    expect(hex(EMPTY_ROOT)).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('computes the same root as a naive recursive MTH for every size up to 70', () => {
    const { read } = buildLog(70);
    for (let size = 0; size <= 70; size++) {
      expect(hex(treeHash(size, read))).toBe(naiveRoot(Array.from({ length: size }, (_, i) => leafData(i))));
    }
  });

  it('matches the RFC 6962 test tree of the certificate-transparency reference code (8 leaves)', () => {
    // certificate-transparency-go merkletree tests: leaves "", 00, 10, 2021, 3031, 40414243, 5051525354555657, 606162636465666768696a6b6c6d6e6f
    const leaves = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((h) => Buffer.from(h, 'hex'));
    const nodes = new Map<string, Hash>();
    const read = (l: number, i: number) => nodes.get(`${l}/${i}`)!;
    leaves.forEach((d, i) => newNodes(i, hashLeaf(d), read).forEach(({ id, hash }) => nodes.set(`${id.level}/${id.index}`, hash)));
    expect(hex(treeHash(8, read))).toBe('5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328');
    expect(hex(treeHash(1, read))).toBe('6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d');
    expect(hex(treeHash(3, read))).toBe('aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77');
  });

  it('proves and verifies inclusion of every leaf, and refuses a wrong leaf, index or root', () => {
    const { read } = buildLog(37);
    for (const size of [1, 2, 3, 7, 8, 9, 31, 32, 37]) {
      const root = treeHash(size, read);
      for (let i = 0; i < size; i++) {
        const proof = inclusionProof(i, size, read);
        verifyInclusion(hashLeaf(leafData(i)), i, size, proof, root);
        expect(() => verifyInclusion(hashLeaf(leafData(i + 1)), i, size, proof, root)).toThrow();
        if (size > 1) expect(() => verifyInclusion(hashLeaf(leafData(i)), (i + 1) % size, size, proof, root)).toThrow();
        expect(() => verifyInclusion(hashLeaf(leafData(i)), i, size, proof, treeHash(size - 1, read))).toThrow();
      }
    }
  });

  it('proves and verifies consistency between every pair of sizes, and refuses a rewritten history', () => {
    const { read } = buildLog(20);
    // A different history: leaf 4 replaced.
    const forkRead = (() => {
      const nodes = new Map<string, Hash>();
      const r = (l: number, i: number) => nodes.get(`${l}/${i}`)!;
      for (let i = 0; i < 20; i++) newNodes(i, hashLeaf(i === 4 ? Buffer.from('evil') : leafData(i)), r).forEach(({ id, hash }) => nodes.set(`${id.level}/${id.index}`, hash));
      return r;
    })();
    for (let m = 0; m <= 20; m++) {
      for (let n = m; n <= 20; n++) {
        const proof = consistencyProof(m, n, read);
        verifyConsistency(m, n, proof, treeHash(m, read), treeHash(n, read));
        if (m > 4 && n > m) expect(() => verifyConsistency(m, n, consistencyProof(m, n, forkRead), treeHash(m, read), treeHash(n, forkRead))).toThrow();
      }
    }
    expect(() => verifyConsistency(5, 4, [], treeHash(5, read), treeHash(4, read))).toThrow();
  });

  it('builds every proof from tiles alone, with the tiles that nodesNeeded and tilesFor name', () => {
    const size = 70_000;
    const { read } = buildLog(size);
    const run = (r: typeof read) => [inclusionProof(65_537, size, r), consistencyProof(300, size, r), treeHash(size, r)];
    const tiles = new Map<string, Hash[]>();
    for (const t of tilesFor(nodesNeeded(run), size)) {
      const bytes = Buffer.concat(tileNodes(t).map((n) => read(n.level, n.index)));
      tiles.set(tileKey(t), decodeTile(bytes, t.width));
    }
    // tlog-tiles "Partial Tiles": size 70,000 has a partial level-0 tile of width 112, level-1 of 17, level-2 of 1.
    expect(tilesFor([{ level: 0, index: 69_999 }, { level: 8, index: 272 }, { level: 16, index: 0 }], size).map((t) => t.width)).toEqual([112, 17, 1]);
    expect(run(tileReader(tiles)).flat().map(hex)).toEqual(run(read).flat().map(hex));
  });
});
