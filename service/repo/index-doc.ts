/**
 * index.json (CONTRACT.md "Target files": every scope with its trust file's path and version),
 * serialised incrementally. Its bytes are exactly `serializeJson` of the index document, but
 * each scope's entry is serialised once per version and the sorted order is kept between
 * publishes: at 100k scopes, re-serialising and re-sorting every entry on each publish cost
 * more than everything else a single change does (bench B2, docs/BENCHMARKS.md).
 */
import { trustTargetPath } from '../domain/scope.js';

export const INDEX_MEDIA_TYPE = 'application/vnd.keyshare.index.v1+json';

/** Code-unit order, as the index has always been sorted. */
const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function lowerBound(sorted: string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** One entry as JSON.stringify(document, null, 2) writes it inside the `scopes` array (4 spaces deep). */
function entryText(scope: string, version: number): string {
  return '    ' + JSON.stringify({ scope, path: trustTargetPath(scope), version }, null, 2).replace(/\n/g, '\n    ');
}

export class IndexSerializer {
  private readonly entries = new Map<string, { version: number; text: string }>();
  /** The keys of `entries`, sorted. */
  private order: string[] = [];

  /** The bytes of index.json for `index` (scope → trust document version). A pure function of `index`; only faster. */
  bytes(index: ReadonlyMap<string, number>): Buffer {
    const added: string[] = [];
    for (const [scope, version] of index) {
      const e = this.entries.get(scope);
      if (!e) {
        added.push(scope);
        this.entries.set(scope, { version, text: entryText(scope, version) });
      } else if (e.version !== version) {
        e.version = version;
        e.text = entryText(scope, version);
      }
    }
    if (this.entries.size !== index.size) {
      for (const scope of this.entries.keys()) if (!index.has(scope)) this.entries.delete(scope);
      this.order = this.order.filter((s) => index.has(s));
    }
    if (added.length > 64) this.order = [...this.entries.keys()].sort(compare);
    else for (const s of added) this.order.splice(lowerBound(this.order, s), 0, s);
    const head = `{\n  "mediaType": ${JSON.stringify(INDEX_MEDIA_TYPE)},\n  "scopes": [`;
    const body = this.order.length === 0 ? ']' : `\n${this.order.map((s) => this.entries.get(s)!.text).join(',\n')}\n  ]`;
    return Buffer.from(`${head}${body}\n}\n`);
  }
}
