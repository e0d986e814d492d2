/**
 * C2SP tlog-tiles: the paths, contents and entry bundles of a tiled log, and a NodeReader over
 * fetched tiles (so that a client computes any proof from them). Pure.
 *
 * - `tile/<L>/<N>[.p/<W>]`: the level-L tile N holds the nodes of tree level 8L with indices
 *   N·256 … N·256+W-1, 32 bytes each; full tiles have W = 256 and no `.p/` suffix.
 * - `<N>` is zero-padded 3-digit path elements, all but the last prefixed with `x`
 *   (1234067 → `x001/x234/067`).
 * - `tile/entries/<N>[.p/<W>]`: the entries themselves, each a big-endian uint16 length and the bytes.
 */
import { HASH_SIZE, hashChildren, type Hash, type NodeId, type NodeReader } from './merkle.js';

export const TILE_HEIGHT = 8;
export const TILE_WIDTH = 256;
/** tlog-tiles: entries are uint16 length-prefixed. */
export const MAX_ENTRY_BYTES = 0xffff;

export interface TileId {
  /** A tile level (0…63), or 'entries' for an entry bundle. */
  level: number | 'entries';
  index: number;
  /** 1…256; 256 is a full tile. */
  width: number;
}

export class TileFormatError extends Error {
  override name = 'TileFormatError';
}

/** tlog-tiles: 1234067 → `x001/x234/067`. */
export function encodeTileIndex(n: number): string {
  const groups: string[] = [];
  do {
    groups.unshift(String(n % 1000).padStart(3, '0'));
    n = Math.floor(n / 1000);
  } while (n > 0);
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
}

export function tilePath(t: TileId): string {
  return `tile/${t.level}/${encodeTileIndex(t.index)}${t.width < TILE_WIDTH ? `.p/${t.width}` : ''}`;
}

const LEVEL = /^(?:0|[1-9]\d?)$/;
const WIDTH = /^[1-9]\d{0,2}$/;

/** The tile a path names (relative to the log prefix, e.g. `tile/0/x001/234.p/7`); null for anything else. */
export function parseTilePath(path: string): TileId | null {
  const parts = path.split('/');
  if (parts[0] !== 'tile' || parts.length < 3) return null;
  const levelText = parts[1]!;
  const level = levelText === 'entries' ? 'entries' : LEVEL.test(levelText) && Number(levelText) <= 63 ? Number(levelText) : null;
  if (level === null) return null;
  let rest = parts.slice(2);
  let width = TILE_WIDTH;
  if (rest.length >= 2 && rest[rest.length - 2]!.endsWith('.p')) {
    const w = rest[rest.length - 1]!;
    if (!WIDTH.test(w) || Number(w) >= TILE_WIDTH) return null;
    width = Number(w);
    rest = [...rest.slice(0, -2), rest[rest.length - 2]!.slice(0, -2)];
  }
  let index = 0;
  for (const [i, g] of rest.entries()) {
    const last = i === rest.length - 1;
    const m = (last ? /^(\d{3})$/ : /^x(\d{3})$/).exec(g);
    if (!m) return null;
    index = index * 1000 + Number(m[1]);
  }
  // One encoding per index: no leading `x000/` groups.
  if (encodeTileIndex(index) !== rest.join('/')) return null;
  return Number.isSafeInteger(index) ? { level, index, width } : null;
}

/** The width of tile (level, n) in a tree of `size` leaves: 0 when it does not exist yet (tlog-tiles "Partial Tiles"). */
export function tileWidth(size: number, level: number, n: number): number {
  return Math.max(0, Math.min(TILE_WIDTH, Math.floor(size / TILE_WIDTH ** level) - n * TILE_WIDTH));
}

/** The nodes a hash tile holds. */
export function tileNodes(t: TileId & { level: number }): NodeId[] {
  return Array.from({ length: t.width }, (_, i) => ({ level: t.level * TILE_HEIGHT, index: t.index * TILE_WIDTH + i }));
}

export function decodeTile(bytes: Uint8Array, width: number): Hash[] {
  if (bytes.length !== width * HASH_SIZE) throw new TileFormatError(`a tile of width ${width} has ${width * HASH_SIZE} bytes, not ${bytes.length}`);
  return Array.from({ length: width }, (_, i) => bytes.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE));
}

export function encodeBundle(entries: Uint8Array[]): Uint8Array {
  const out = Buffer.alloc(entries.reduce((n, e) => n + 2 + e.length, 0));
  let at = 0;
  for (const e of entries) {
    if (e.length > MAX_ENTRY_BYTES) throw new TileFormatError(`a log entry is at most ${MAX_ENTRY_BYTES} bytes`);
    out.writeUInt16BE(e.length, at);
    out.set(e, at + 2);
    at += 2 + e.length;
  }
  return out;
}

export function decodeBundle(bytes: Uint8Array, width: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (at + 2 > bytes.length) throw new TileFormatError('an entry bundle ends inside a length');
    const n = (bytes[at]! << 8) | bytes[at + 1]!;
    if (at + 2 + n > bytes.length) throw new TileFormatError('an entry bundle ends inside an entry');
    out.push(bytes.subarray(at + 2, at + 2 + n));
    at += 2 + n;
  }
  if (out.length !== width) throw new TileFormatError(`an entry bundle of width ${width} holds ${out.length} entries`);
  return out;
}

const key = (t: { level: number; index: number }) => `${t.level}/${t.index}`;

/** Where node (level, index) lies: its tile, and the range of that tile's hashes it is the root of. */
function locate(level: number, index: number): { tile: { level: number; index: number }; start: number; count: number } {
  const tileLevel = Math.floor(level / TILE_HEIGHT);
  const count = 2 ** (level - tileLevel * TILE_HEIGHT);
  const base = index * count;
  return { tile: { level: tileLevel, index: Math.floor(base / TILE_WIDTH) }, start: base % TILE_WIDTH, count };
}

/** The tiles (with their widths in a tree of `size`) that hold the given nodes. */
export function tilesFor(nodes: NodeId[], size: number): (TileId & { level: number })[] {
  const out = new Map<string, TileId & { level: number }>();
  for (const n of nodes) {
    const { tile } = locate(n.level, n.index);
    out.set(key(tile), { ...tile, width: tileWidth(size, tile.level, tile.index) });
  }
  return [...out.values()];
}

/** A NodeReader over tiles (`tiles` by `level/index`): a node inside a tile is the Merkle root of its hashes. */
export function tileReader(tiles: Map<string, Hash[]>): NodeReader {
  const rootOf = (hashes: Hash[]): Hash => (hashes.length === 1 ? hashes[0]! : hashChildren(rootOf(hashes.slice(0, hashes.length / 2)), rootOf(hashes.slice(hashes.length / 2))));
  return (level, index) => {
    const { tile, start, count } = locate(level, index);
    const hashes = tiles.get(key(tile));
    if (!hashes || hashes.length < start + count) throw new TileFormatError(`tile ${key(tile)} does not hold node ${level}/${index}`);
    return rootOf(hashes.slice(start, start + count));
  };
}

export const tileKey = key;
