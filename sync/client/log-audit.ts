/**
 * `keyshare log verify` (issue 23): audits a whole transparency log from outside. It reads every
 * entry bundle, rebuilds the Merkle tree and checks the signed root (and, with --from, that the
 * log extends an earlier checkpoint), replays the entries (timestamp versions only go up; each
 * gap is reported), and checks each entry against the TUF versions still served.
 */
import { sha256Hex } from '../../shared/hash.js';
import { KeyshareError } from '../../shared/errors.js';
import { parseEntry, type LogEntry } from '../../shared/tlog/leaf.js';
import { hashLeaf, newNodes, treeHash, type Hash } from '../../shared/tlog/merkle.js';
import type { NoteVerifier } from '../../shared/tlog/note.js';
import { decodeBundle, tilePath, tileWidth, TILE_WIDTH } from '../../shared/tlog/tiles.js';
import { FetchCodes } from './errors.js';
import { openCheckpoint, type LogGet } from './log-check.js';

export interface LogAuditReport {
  origin: string;
  size: number;
  /** Timestamp versions of the first and last entries. */
  versions: { first: number | null; last: number | null };
  /** Where consecutive entries skip timestamp versions (a version jump, or versions published unlogged). */
  gaps: { after: number; next: number }[];
  /** Entries checked against a TUF file still served, and those that differ from it. */
  served: { checked: number; mismatched: { index: number; file: string }[] };
}

const equal = (a: Hash, b: Hash) => Buffer.from(a).equals(Buffer.from(b));
const inconsistent = (message: string) => new KeyshareError(FetchCodes.LOG_INCONSISTENT, message);

export async function auditLog(input: { get: LogGet; tuf: LogGet; key: NoteVerifier; from?: string | null }): Promise<LogAuditReport> {
  // Read before the checkpoint: the checkpoint then holds its entry (both land in one transaction).
  const current = await input.tuf('timestamp.json');
  const note = await input.get('checkpoint');
  if (!note) throw new KeyshareError(FetchCodes.NOT_LOGGED, 'the server serves no transparency log checkpoint');
  const cp = openCheckpoint(Buffer.from(note).toString('utf8'), input.key);
  const nodes = new Map<string, Hash>();
  const read = (level: number, index: number) => nodes.get(`${level}/${index}`)!;
  const entries: LogEntry[] = [];
  for (let n = 0; n * TILE_WIDTH < cp.size; n++) {
    const width = tileWidth(cp.size, 0, n);
    const bytes = await input.get(tilePath({ level: 'entries', index: n, width }));
    if (!bytes) throw inconsistent(`the log serves no entry bundle ${n} of its ${cp.size} entries`);
    for (const data of decodeBundle(bytes, width)) {
      for (const { id, hash } of newNodes(entries.length, hashLeaf(data), read)) nodes.set(`${id.level}/${id.index}`, hash);
      entries.push(parseEntry(data));
    }
  }
  if (!equal(treeHash(cp.size, read), cp.root)) throw inconsistent(`the ${cp.size} entries served do not hash to the signed root`);
  if (input.from) {
    const prev = openCheckpoint(input.from, input.key);
    if (prev.size > cp.size || !equal(treeHash(prev.size, read), prev.root)) throw inconsistent(`the log does not extend the checkpoint of ${prev.size} entries given with --from`);
  }
  const gaps: LogAuditReport['gaps'] = [];
  for (let i = 1; i < entries.length; i++) {
    const [a, b] = [entries[i - 1]!.timestamp.version, entries[i]!.timestamp.version];
    if (b <= a) throw inconsistent(`entry ${i} logs timestamp v${b} after v${a}: versions must go up`);
    if (b !== a + 1) gaps.push({ after: a, next: b });
  }
  const mismatched: LogAuditReport['served']['mismatched'] = [];
  let checked = 0;
  for (const [index, e] of entries.entries()) {
    const file = `${e.snapshot.version}.snapshot.json`;
    const bytes = await input.tuf(file);
    if (!bytes) continue; // pruned since
    checked++;
    if (sha256Hex(bytes) !== e.snapshot.sha256) mismatched.push({ index, file });
  }
  if (current) {
    const version = (JSON.parse(Buffer.from(current).toString('utf8')) as { signed: { version: number } }).signed.version;
    const index = entries.findIndex((e) => e.timestamp.version === version);
    checked++;
    if (index < 0 || entries[index]!.timestamp.sha256 !== sha256Hex(current)) mismatched.push({ index, file: 'timestamp.json' });
  }
  return {
    origin: cp.origin,
    size: cp.size,
    versions: { first: entries[0]?.timestamp.version ?? null, last: entries.at(-1)?.timestamp.version ?? null },
    gaps,
    served: { checked, mismatched },
  };
}
