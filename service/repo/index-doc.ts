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
  /** The last bytes returned, and where each entry's text starts in them. */
  private last: { bytes: Buffer; offsets: Map<string, number> } | null = null;

  /** The bytes of index.json for `index` (scope → trust document version). A pure function of `index`; only faster. */
  bytes(index: ReadonlyMap<string, number>): Buffer {
    const added: string[] = [];
    // Entries whose text changed to one of the same length: patched into a copy of the last bytes.
    const patched: string[] = [];
    let sameShape = true;
    for (const [scope, version] of index) {
      const e = this.entries.get(scope);
      if (!e) {
        added.push(scope);
        this.entries.set(scope, { version, text: entryText(scope, version) });
      } else if (e.version !== version) {
        const text = entryText(scope, version);
        if (text.length !== e.text.length) sameShape = false;
        patched.push(scope);
        e.version = version;
        e.text = text;
      }
    }
    if (this.entries.size !== index.size) {
      for (const scope of this.entries.keys()) if (!index.has(scope)) this.entries.delete(scope);
      this.order = this.order.filter((s) => index.has(s));
      sameShape = false;
    }
    if (added.length > 0) sameShape = false;
    if (sameShape && this.last) {
      // Scope names and versions are ASCII (CONTRACT.md "Scopes"): one character is one byte.
      const out = Buffer.allocUnsafe(this.last.bytes.length);
      this.last.bytes.copy(out);
      for (const s of patched) out.write(this.entries.get(s)!.text, this.last.offsets.get(s)!, 'latin1');
      this.last = { bytes: out, offsets: this.last.offsets };
      return out;
    }
    if (added.length > 64) this.order = [...this.entries.keys()].sort(compare);
    else for (const s of added) this.order.splice(lowerBound(this.order, s), 0, s);
    const head = `{\n  "mediaType": ${JSON.stringify(INDEX_MEDIA_TYPE)},\n  "scopes": [`;
    const texts = this.order.map((s) => this.entries.get(s)!.text);
    const body = texts.length === 0 ? ']' : `\n${texts.join(',\n')}\n  ]`;
    const bytes = Buffer.from(`${head}${body}\n}\n`);
    const ascii = bytes.length === head.length + body.length + 3;
    const offsets = new Map<string, number>();
    let at = head.length + 1;
    for (let i = 0; i < texts.length; i++) {
      offsets.set(this.order[i]!, at);
      at += texts[i]!.length + 2;
    }
    // Offsets count characters: patching is only for an all-ASCII index.
    this.last = ascii ? { bytes, offsets } : null;
    return bytes;
  }
}
