/**
 * The publisher's copy of the sharded index (service/domain/trust-index.ts): every published
 * scope with its version, grouped by the shard (hashed bin) that lists it. A publish asks for
 * the bytes of the shards its documents touch, and applies them only after its commit.
 */
import { binIndex, headerBytes, shardBytes, shardPaths } from '../domain/trust-index.js';
import { trustTargetPath } from '../domain/scope.js';

/** What a publish changes about a scope's published document. */
export interface IndexChange {
  scope: string;
  version: number;
  deleted: boolean;
}

/**
 * The shards a list of changes touches, as they are once it lands, by bin number; computed once
 * per list and asked for by sizeAfter, changedShards and apply (bench B9: a parent change touches
 * every shard; each scope's shard was looked up four times, through a map by scope).
 */
interface Pending {
  changes: readonly IndexChange[];
  /** The value of `applied` the shards were copied at: another apply in between makes them stale. */
  applied: number;
  touched: Map<number, Map<string, number>>;
  /** Each change's shard, in the order of `changes`. */
  shardOf: Uint32Array;
}

export class IndexShards {
  /** Each shard's scopes and versions, by bin number. */
  private readonly byShard: Map<string, number>[];
  /** The shards' paths in bin order: a scope's is the one its trust file's hash picks (as shardOfScope). */
  private readonly shardNames: string[];
  private pending: Pending | null = null;
  private applied = 0;

  constructor(
    readonly bitLength: number,
    versions: Iterable<readonly [string, number]> = [],
  ) {
    this.shardNames = shardPaths(bitLength);
    this.byShard = this.shardNames.map(() => new Map());
    for (const [scope, version] of versions) this.byShard[this.shardOf(scope)]!.set(scope, version);
  }

  private shardOf(scope: string): number {
    return binIndex(trustTargetPath(scope), this.bitLength);
  }

  /** The shards `changes` touch, as they are once applied: copies, so that nothing here changes until apply(). */
  private touched(changes: readonly IndexChange[]): Map<number, Map<string, number>> {
    if (this.pending?.changes === changes && this.pending.applied === this.applied) return this.pending.touched;
    const touched = new Map<number, Map<string, number>>();
    const shardOf = new Uint32Array(changes.length);
    for (const [k, c] of changes.entries()) {
      const i = (shardOf[k] = this.shardOf(c.scope));
      let shard = touched.get(i);
      if (!shard) touched.set(i, (shard = new Map(this.byShard[i])));
      if (c.deleted) shard.delete(c.scope);
      else shard.set(c.scope, c.version);
    }
    this.pending = { changes, applied: this.applied, touched, shardOf };
    return touched;
  }

  /** The new bytes of each shard `changes` touch; nothing here changes until apply(). */
  changedShards(changes: readonly IndexChange[]): Map<string, Buffer> {
    return new Map([...this.touched(changes)].map(([i, versions]) => [this.shardNames[i]!, shardBytes(versions)]));
  }

  apply(changes: readonly IndexChange[]): void {
    this.touched(changes);
    // Into the shards in place: the copies die young, and the shards kept (old in the heap) are not copied again (bench B9).
    const { shardOf } = this.pending!;
    for (const [k, c] of changes.entries()) {
      if (c.deleted) this.byShard[shardOf[k]!]!.delete(c.scope);
      else this.byShard[shardOf[k]!]!.set(c.scope, c.version);
    }
    this.pending = null;
    this.applied++;
  }

  /** index.json and every shard: a new repository, an upgrade from index v1, or new bins. */
  allFiles(indexTarget: string): Map<string, Buffer> {
    return new Map([[indexTarget, headerBytes(this.bitLength)], ...this.shardFiles()]);
  }

  /** Every shard's bytes, in bin order. */
  private shardFiles(): Map<string, Buffer> {
    return new Map(this.byShard.map((versions, i) => [this.shardNames[i]!, shardBytes(versions)]));
  }

  /**
   * The index files a publish of `changes` writes: the shards they touch; or, when every shard is
   * rewritten (`rewriteAll`: index v1 upgraded, shards moving to their own bins; or the bins grow
   * to `bits`), index.json's header, every shard, and the copy that replaces this one once the
   * publish lands (`next`). Either way one publish, which clients of both index versions read.
   */
  filesFor(changes: readonly IndexChange[], bits: number, rewriteAll: boolean): { shards: Map<string, Buffer>; header: Buffer | null; next: IndexShards | null } {
    if (!rewriteAll && bits === this.bitLength) return { shards: this.changedShards(changes), header: null, next: null };
    const next = new IndexShards(bits, this.entries());
    next.apply(changes);
    return { shards: next.shardFiles(), header: headerBytes(bits), next };
  }

  /** Every scope with its version. */
  *entries(): Iterable<[string, number]> {
    for (const shard of this.byShard) yield* shard;
  }

  /** The number of scopes once `changes` are applied. */
  sizeAfter(changes: readonly IndexChange[]): number {
    let n = this.size;
    for (const [i, shard] of this.touched(changes)) n += shard.size - this.byShard[i]!.size;
    return n;
  }

  /** Whether `scope` is listed once `changes` are applied. */
  listsAfter(scope: string, changes: readonly IndexChange[]): boolean {
    let listed = this.byShard[this.shardOf(scope)]!.has(scope);
    for (const c of changes) if (c.scope === scope) listed = !c.deleted;
    return listed;
  }

  get size(): number {
    let n = 0;
    for (const shard of this.byShard) n += shard.size;
    return n;
  }
}
