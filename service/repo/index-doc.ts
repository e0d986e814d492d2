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
  return `    {\n      "scope": ${JSON.stringify(scope)},\n      "path": ${JSON.stringify(trustTargetPath(scope))},\n      "version": ${JSON.stringify(version)}\n    }`;
}

export class IndexSerializer {
  /**
   * Per scope: its version, and where its entry starts in the last bytes and how long it is
   * (-1 before it is in them). Entry texts are not kept: at 100k scopes they would be 11 MB
   * of strings besides the bytes (bench B8); they are cheap to write again.
   */
  private readonly entries = new Map<string, { version: number; offset: number; length: number }>();
  /** The keys of `entries`, sorted. */
  private order: string[] = [];
  /** The last bytes returned. */
  private last: Buffer | null = null;

  /** The bytes of index.json for `index` (scope → trust document version). A pure function of `index`; only faster. */
  bytes(index: ReadonlyMap<string, number>): Buffer {
    const added: string[] = [];
    // Entries whose text changed to one of the same length: patched into a copy of the last bytes.
    const patched: { offset: number; text: string }[] = [];
    let sameShape = true;
    for (const [scope, version] of index) {
      const e = this.entries.get(scope);
      if (!e) {
        added.push(scope);
        this.entries.set(scope, { version, offset: 0, length: -1 });
      } else if (e.version !== version) {
        e.version = version;
        const text = entryText(scope, version);
        if (text.length === e.length) patched.push({ offset: e.offset, text });
        else sameShape = false;
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
      const out = Buffer.allocUnsafe(this.last.length);
      this.last.copy(out);
      for (const p of patched) out.write(p.text, p.offset, 'latin1');
      this.last = out;
      return out;
    }
    if (added.length > 64) this.order = [...this.entries.keys()].sort(compare);
    else for (const s of added) this.order.splice(lowerBound(this.order, s), 0, s);
    const head = `{\n  "mediaType": ${JSON.stringify(INDEX_MEDIA_TYPE)},\n  "scopes": [`;
    const texts = this.order.map((s) => entryText(s, this.entries.get(s)!.version));
    const body = texts.length === 0 ? ']' : `\n${texts.join(',\n')}\n  ]`;
    const bytes = Buffer.from(`${head}${body}\n}\n`);
    // Offsets count characters: patching is only for an all-ASCII index.
    const ascii = bytes.length === head.length + body.length + 3;
    let at = head.length + 1;
    for (let i = 0; i < texts.length; i++) {
      const e = this.entries.get(this.order[i]!)!;
      e.offset = ascii ? at : 0;
      e.length = ascii ? texts[i]!.length : -1;
      at += texts[i]!.length + 2;
    }
    this.last = ascii ? bytes : null;
    return bytes;
  }
}
