/** Naming helpers shared by the writers: store names, safe file names, stable ordering. */
import { KeyshareError } from '../../shared/errors.js';
import type { TrustAnchor, TrustDocument } from '../../shared/types.js';
import { FormatCodes, type OutputFile } from './types.js';

/**
 * The store name of a scope (CONTRACT.md "What fetch --format writes"): the scope with every
 * character outside `[a-zA-Z0-9_.-]` replaced by `_`. The result also satisfies notation's
 * named-store rule `^[a-zA-Z0-9_.-]+$` (trust-store-trust-policy.md, "trustStores").
 */
export function storeName(scope: string): string {
  return scope.replace(/[^a-zA-Z0-9_.-]/g, '_');
}

/**
 * Store names for every document, keyed by scope. Two scopes can map to one name
 * (`a.io/b_c` and `a.io/b/c`); their files would mix, so that is refused.
 */
export function assignStores(documents: TrustDocument[]): Map<string, string> {
  const byScope = new Map<string, string>();
  const byStore = new Map<string, string>();
  for (const doc of documents) {
    if (byScope.has(doc.scope)) {
      throw new KeyshareError(FormatCodes.FORMAT_INPUT_INVALID, `scope ${doc.scope} is given twice`);
    }
    const store = storeName(doc.scope);
    if (store === '.' || store === '..') {
      throw new KeyshareError(FormatCodes.FORMAT_INPUT_INVALID, `scope ${doc.scope} has no usable store name`);
    }
    const other = byStore.get(store);
    if (other !== undefined) {
      throw new KeyshareError(
        FormatCodes.FORMAT_UNSUPPORTED,
        `scopes ${other} and ${doc.scope} share the store name ${store}; fetch them separately`,
      );
    }
    byScope.set(doc.scope, store);
    byStore.set(store, doc.scope);
  }
  return byScope;
}

/** Documents sorted by scope, so that output does not depend on input order. */
export function sortedDocuments(documents: TrustDocument[]): TrustDocument[] {
  return [...documents].sort((a, b) => compare(a.scope, b.scope));
}

/** Anchors of the given types, one per ID, sorted by ID (stable output). */
export function anchorsOfType(doc: TrustDocument, types: readonly string[]): TrustAnchor[] {
  const seen = new Map<string, TrustAnchor>();
  for (const a of doc.anchors) {
    if (types.includes(a.type) && !seen.has(a.id)) seen.set(a.id, a);
  }
  return [...seen.values()].sort((a, b) => compare(a.id, b.id));
}

/** The PEM text of an anchor (`certificate` or `publicKey`), with one trailing newline. */
export function anchorPem(scope: string, anchor: TrustAnchor, field: 'certificate' | 'publicKey'): string {
  const pem = anchor[field];
  if (typeof pem !== 'string' || pem.trim() === '') {
    throw new KeyshareError(
      FormatCodes.FORMAT_INPUT_INVALID,
      `anchor ${anchor.id} of scope ${scope} has no ${field}`,
    );
  }
  return pem.replace(/\r\n/g, '\n').trim() + '\n';
}

/**
 * A file name base from an anchor: its name in `[a-zA-Z0-9_.-]` (notation's file-name charset,
 * also safe on every OS), plus a short ID so that two anchors with one name do not collide.
 */
export function anchorFileBase(anchor: TrustAnchor): string {
  const name = anchor.name
    .replace(/[^a-zA-Z0-9_.-]/g, '_')
    .replace(/^\.+/, '_')
    .slice(0, 64);
  const hex = (anchor.id.split(':').pop() ?? '').replace(/[^a-zA-Z0-9]/g, '').toLowerCase().slice(0, 12);
  return [name || 'anchor', hex].filter((s) => s !== '').join('_');
}

/** `base`, or `base-2`, `base-3`, ... : the first one not in `used` (which it joins). */
export function uniqueName(base: string, used: Set<string>, suffix = ''): string {
  let name = base + suffix;
  for (let i = 2; used.has(name); i++) name = `${base}-${i}${suffix}`;
  used.add(name);
  return name;
}

/** Files sorted by path: the same input gives the same output, byte for byte. */
export function sortFiles(files: OutputFile[]): OutputFile[] {
  return [...files].sort((a, b) => compare(a.path, b.path));
}

/** Code-unit order, independent of locale. */
export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Pretty JSON with a trailing newline, as every writer emits it. */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}
