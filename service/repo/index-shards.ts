/**
 * The publisher's copy of the sharded index (service/domain/trust-index.ts): every published
 * scope with its version, grouped by the shard (hashed bin) that lists it. A publish asks for
 * the bytes of the shards its documents touch, and applies them only after its commit.
 */
import { headerBytes, pathHash32, shardBytes, shardOfScope, shardPaths } from '../domain/trust-index.js';
import { trustTargetPath } from '../domain/scope.js';

/** What a publish changes about a scope's published document. */
export interface IndexChange {
  scope: string;
  version: number;
  deleted: boolean;
}

export class IndexShards {
  private readonly byShard = new Map<string, Map<string, number>>();
  /** The shard of each scope the pending publish changes: asked for by changedShards, sizeAfter and apply (bench B9), emptied by apply. */
  private readonly pending = new Map<string, string>();
  /** The shards' paths in bin order: a scope's is the one its trust file's hash picks (as shardOfScope, without its strings per scope). */
  private readonly shardNames: string[];

  constructor(
    readonly bitLength: number,
    versions: Iterable<readonly [string, number]> = [],
  ) {
    this.shardNames = shardPaths(bitLength);
    for (const path of this.shardNames) this.byShard.set(path, new Map());
    for (const [scope, version] of versions) this.byShard.get(shardOfScope(scope, bitLength))!.set(scope, version);
  }

  /** The new bytes of each shard `changes` touch; nothing here changes until apply(). */
  changedShards(changes: readonly IndexChange[]): Map<string, Buffer> {
    const touched = new Map<string, Map<string, number>>();
    for (const c of changes) {
      const path = this.shardOf(c.scope);
      if (!touched.has(path)) touched.set(path, new Map(this.byShard.get(path)));
      if (c.deleted) touched.get(path)!.delete(c.scope);
      else touched.get(path)!.set(c.scope, c.version);
    }
    return new Map([...touched].map(([path, versions]) => [path, shardBytes(versions)]));
  }

  apply(changes: readonly IndexChange[]): void {
    for (const c of changes) {
      const shard = this.byShard.get(this.shardOf(c.scope))!;
      if (c.deleted) shard.delete(c.scope);
      else shard.set(c.scope, c.version);
    }
    this.pending.clear();
  }

  private shardOf(scope: string): string {
    let path = this.pending.get(scope);
    if (path === undefined) this.pending.set(scope, (path = this.shardNames[pathHash32(trustTargetPath(scope)) >>> (32 - this.bitLength)]!));
    return path;
  }

  /** index.json and every shard: a new repository, an upgrade from index v1, or new bins. */
  allFiles(indexTarget: string): Map<string, Buffer> {
    const files = new Map<string, Buffer>([[indexTarget, headerBytes(this.bitLength)]]);
    for (const [path, versions] of this.byShard) files.set(path, shardBytes(versions));
    return files;
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
    const shards = new Map<string, Buffer>();
    for (const [path, versions] of next.byShard) shards.set(path, shardBytes(versions));
    return { shards, header: headerBytes(bits), next };
  }

  /** Every scope with its version. */
  *entries(): Iterable<[string, number]> {
    for (const shard of this.byShard.values()) yield* shard;
  }

  /** The number of scopes once `changes` are applied. */
  sizeAfter(changes: readonly IndexChange[]): number {
    let n = this.size;
    for (const c of changes) {
      const listed = this.byShard.get(this.shardOf(c.scope))!.has(c.scope);
      if (c.deleted && listed) n--;
      else if (!c.deleted && !listed) n++;
    }
    return n;
  }

  /** Whether `scope` is listed once `changes` are applied. */
  listsAfter(scope: string, changes: readonly IndexChange[]): boolean {
    let listed = this.byShard.get(shardOfScope(scope, this.bitLength))!.has(scope);
    for (const c of changes) if (c.scope === scope) listed = !c.deleted;
    return listed;
  }

  get size(): number {
    let n = 0;
    for (const shard of this.byShard.values()) n += shard.size;
    return n;
  }
}
