/**
 * The transparency log of published versions (issue 23): every timestamp version the store
 * commits appends one entry (service/domain/tlog/leaf.ts) inside the same transaction, and a new
 * checkpoint signed with the log key. The pure Merkle, tile and note code is in
 * service/domain/tlog/; this adapter reads and writes the store.
 */
import { sha256Hex as sha256 } from '../../shared/hash.js';
import { formatCheckpoint, parseCheckpoint, type Checkpoint } from '../../shared/tlog/checkpoint.js';
import { formatEntry, parseEntry, type LogEntry } from '../../shared/tlog/leaf.js';
import { consistencyProof, hashLeaf, inclusionProof, newNodes, nodesNeeded, treeHash, type Hash, type NodeReader } from '../../shared/tlog/merkle.js';
import { signNote, type NoteSigner } from '../../shared/tlog/note.js';
import { formatLogProof } from '../../shared/tlog/proof.js';
import { encodeBundle, tileNodes, tileWidth, type TileId } from '../../shared/tlog/tiles.js';
import { KeyshareError, Codes } from '../errors.js';
import type { MetadataRecord, PublishCommit, Store } from '../store/index.js';
import { loadLogSigner } from './key.js';

/** The store meta key holding the newest signed checkpoint. */
export const CHECKPOINT_META = 'log.checkpoint';

/** TUF spec 4.2 form: whole seconds. */
const isoSeconds = (iso: string) => new Date(iso).toISOString().replace(/\.\d{3}Z$/, 'Z');

export class TransparencyLog {
  /** After `key rotate log`, until the rotation's publish is served: the old key, which also signs checkpoints (rotate). */
  private retiring: NoteSigner | null = null;

  constructor(
    private readonly store: Store,
    private signer: NoteSigner,
  ) {}

  /**
   * Issue 23, `key rotate log`: checkpoints are signed with `next` from now on. Until endRotation,
   * the old key signs them too (a client that has not yet read the targets stating `next` still
   * verifies the checkpoint), starting with the newest checkpoint, signed again here with both.
   */
  async rotate(next: NoteSigner): Promise<void> {
    if (next.name !== this.origin) throw new KeyshareError(Codes.INTERNAL, `a log key for ${next.name} cannot sign the log ${this.origin}`);
    this.retiring = this.signer;
    this.signer = next;
    await this.store.transaction(async () => {
      const note = await this.checkpoint();
      if (note) await this.store.setMeta(CHECKPOINT_META, signNote(note.slice(0, note.indexOf('\n\n') + 1), this.signers()));
    });
  }

  /** The old key stops signing (once the targets stating the new one are served). */
  endRotation(): void {
    this.retiring = null;
  }

  private signers(): NoteSigner[] {
    return this.retiring ? [this.signer, this.retiring] : [this.signer];
  }

  /** Logs every publish from now on (store port onPublishCommit). */
  attach(): this {
    this.store.onPublishCommit((c) => this.append(c));
    return this;
  }

  get origin(): string {
    return this.signer.name;
  }

  /** The log's public key, `name+hash+base64` (signed-note), served at /log/key. */
  verifierKey(): string {
    return this.signer.verifierKey();
  }

  /**
   * Appends one entry per timestamp version a publish commits, in version order (a bundle export
   * commits two: the bundle's and the live one), then signs the new checkpoint. Runs inside the
   * publish's transaction: both land with it, or neither does.
   */
  async append(c: PublishCommit): Promise<void> {
    const timestamps = c.metadata.filter((m) => m.role === 'timestamp').sort((a, b) => a.version - b.version);
    const entries: { data: Buffer; timestampVersion: number }[] = [];
    for (const ts of timestamps) entries.push({ data: Buffer.from(formatEntry(await this.entryOf(ts, c))), timestampVersion: ts.version });
    if (entries.length > 0) await this.appendEntries(entries);
  }

  /** Appends entries as given, with the tree nodes each completes, and signs the new checkpoint (one transaction). */
  appendEntries(entries: { data: Buffer; timestampVersion: number }[]): Promise<void> {
    return this.store.transaction(async () => {
      let size = await this.store.logSize();
      for (const { data, timestampVersion } of entries) {
        const index = size++;
        const nodes = await this.withNodes((read) => newNodes(index, hashLeaf(data), read));
        await this.store.appendLogEntry({ index, data, timestampVersion, nodes: nodes.map((n) => ({ ...n.id, hash: n.hash })) });
      }
      const root = await this.withNodes((read) => treeHash(size, read));
      await this.store.setMeta(CHECKPOINT_META, signNote(formatCheckpoint({ origin: this.origin, size, root, extensions: [] }), this.signers()));
    });
  }

  private async entryOf(ts: MetadataRecord, c: PublishCommit): Promise<LogEntry> {
    const snapshotVersion = (JSON.parse(ts.bytes.toString('utf8')) as { signed: { meta: Record<string, { version: number }> } }).signed.meta['snapshot.json']?.version;
    const snapshot = snapshotVersion === undefined ? null : (c.metadata.find((m) => m.role === 'snapshot' && m.version === snapshotVersion) ?? (await this.store.getMetadata('snapshot', snapshotVersion)));
    if (!snapshot) throw new KeyshareError(Codes.INTERNAL, `timestamp v${ts.version} names a snapshot that is not stored`);
    const head = await this.store.auditHead();
    return {
      timestamp: { version: ts.version, sha256: sha256(ts.bytes) },
      snapshot: { version: snapshot.version, sha256: sha256(snapshot.bytes) },
      time: isoSeconds(c.publishedAt),
      audit: head ? { seq: head.seq, hash: head.hash } : null,
    };
  }

  /** The newest signed checkpoint (null before the first entry). */
  checkpoint(): Promise<string | null> {
    return this.store.getMeta(CHECKPOINT_META);
  }

  /**
   * /log/proof (shared/tlog/proof.ts): the newest checkpoint, its last entry (the newest
   * timestamp's, the publish appends in version order), that entry's inclusion proof, read
   * for the checkpoint's own size, and the timestamp.json it logs. Null before the first entry.
   * `decorate` appends what /log/checkpoint serves with the note (the witnesses' cosignatures).
   * With `from` (the size of the checkpoint a client kept; issue 23, bench B12): the consistency
   * proof from it to the checkpoint's size too, and no timestamp.json; BAD_REQUEST unless
   * 0 < from ≤ size.
   */
  async proof(decorate: (note: string) => Promise<string> = async (note) => note, from?: number): Promise<string | null> {
    const checkpoint = await this.checkpoint();
    if (!checkpoint) return null;
    const { size } = parseCheckpoint(checkpoint.slice(0, checkpoint.lastIndexOf('\n\n') + 1));
    if (from !== undefined && !(Number.isSafeInteger(from) && from > 0 && from <= size)) {
      throw new KeyshareError(Codes.BAD_REQUEST, `from=${from}: a consistency proof starts at a checkpoint size from 1 to ${size}`);
    }
    const [entry] = await this.store.listLogEntries(size - 1, size);
    if (!entry) return missing(`entry ${size - 1}`);
    // A client that asks ?from= has just refreshed timestamp.json through TUF: it needs no copy (B12's bytes).
    const timestamp = from === undefined ? await this.store.getMetadata('timestamp', parseEntry(entry).timestamp.version) : null;
    return formatLogProof({
      key: this.verifierKey(),
      checkpoint: await decorate(checkpoint),
      index: size - 1,
      entry,
      inclusion: await this.inclusionProof(size - 1, size),
      ...(timestamp ? { timestamp: timestamp.bytes } : {}),
      ...(from !== undefined ? { consistency: { from, proof: await this.consistencyProof(from, size) } } : {}),
    });
  }

  /** The tree the newest checkpoint names (signature not checked: this log signed it). */
  async head(): Promise<Checkpoint | null> {
    const note = await this.checkpoint();
    return note ? parseCheckpoint(note.slice(0, note.lastIndexOf('\n\n') + 1)) : null;
  }

  /**
   * A tile or entry bundle as served (C2SP tlog-tiles), or null when the tree of the newest
   * checkpoint does not hold it at that width: a partial tile of width W exists for the
   * checkpoint of every size that gives it W hashes, and those were all signed.
   */
  async tile(t: TileId): Promise<Uint8Array | null> {
    const head = await this.head();
    if (!head) return null;
    const available = tileWidth(head.size, t.level === 'entries' ? 0 : t.level, t.index);
    if (available < t.width) return null;
    if (t.level === 'entries') return encodeBundle(await this.store.listLogEntries(t.index * 256, t.index * 256 + t.width));
    const ids = tileNodes({ ...t, level: t.level });
    const found = await this.store.getLogNodes(ids);
    return Buffer.concat(ids.map((id) => found.get(`${id.level}/${id.index}`) ?? missing(`${id.level}/${id.index}`)));
  }

  /** Inclusion proof of entry `index` in the tree of `size` (RFC 6962 2.1.1). */
  inclusionProof(index: number, size: number): Promise<Hash[]> {
    return this.withNodes((read) => inclusionProof(index, size, read));
  }

  /** Consistency proof from `from` to `to` entries (RFC 6962 2.1.2). */
  consistencyProof(from: number, to: number): Promise<Hash[]> {
    return this.withNodes((read) => consistencyProof(from, to, read));
  }

  /** Runs `run` over the stored nodes it needs, read in one go (merkle.ts nodesNeeded). */
  private async withNodes<T>(run: (read: NodeReader) => T): Promise<T> {
    const found = await this.store.getLogNodes(nodesNeeded(run));
    return run((level, index) => found.get(`${level}/${index}`) ?? missing(`${level}/${index}`));
  }
}

/** The log of a data dir's store, attached so that every publish through `store` is logged. */
export async function attachLog(dataDir: string, store: Store): Promise<TransparencyLog> {
  return new TransparencyLog(store, await loadLogSigner(dataDir, store)).attach();
}

function missing(node: string): never {
  throw new KeyshareError(Codes.STORE_DAMAGED, `the transparency log's node ${node} is not stored`);
}
