/**
 * What each `fetch --format` can enforce (issue 15): the one place that decides, per format,
 * which items of a trust document the verifiers reading its files do not enforce. fetch warns
 * about each, lists them in `--json` as `unenforced`, and refuses them with `--strict`.
 * Pure: trust documents (and the serials their CAs' CRLs list) in, items out.
 *
 * - A revoked key or a revoked anchor certificate is never among a document's anchors
 *   (CONTRACT.md), so every format enforces it by leaving the anchor out.
 * - An anchor of a type the format cannot carry is left out: its signatures are refused
 *   (fail closed), but the files do not say what the trust says.
 * - A certificate revocation below a written certificate anchor (a leaf, or an intermediate
 *   that is not itself an anchor) reaches openssl and notation only through the CA's CRL
 *   (RFC 5280 6.3), and only when that CRL lists the serial.
 * - Sigstore's TrustedRoot has no revocation data at all (no CRLs): a certificate revocation
 *   below a written CA is never enforced there. Its verifiers only trust chains ending in a
 *   written certificate authority, so a signingAuthority (a signing certificate) is not carried.
 * - The kubernetes manifests give Kyverno and Ratify certificates and keys inline, without CRLs.
 * - A signature revocation has no place in any verifier configuration.
 * - `json` is the published document itself: whoever reads it reads every item.
 * - A scope at level `skip` verifies nothing, so nothing in it is left unenforced.
 */
import type { AnchorType, TrustAnchor, TrustDocument } from '../../shared/types.js';
import { compare, sortedDocuments } from './names.js';
import type { FormatName, UnenforcedItem, UnenforcedKind } from './types.js';

export type { UnenforcedItem, UnenforcedKind } from './types.js';

interface Reach {
  /** Who reads the files, for the reasons. */
  verifier: string;
  /** The anchor types the format writes; every other anchor is left out. */
  anchors: readonly AnchorType[];
  /** Certificate revocations below a written anchor: through the CA's CRL, in the document itself (json), or not at all (sigstore). */
  certificates: 'crl' | 'document' | 'none';
  /** Whether signature revocations reach the verifier. */
  signatures: boolean;
}

const CERTIFICATES: readonly AnchorType[] = ['ca', 'signingAuthority', 'tsa'];
const ALL: readonly AnchorType[] = [...CERTIFICATES, 'publicKey', 'pgp'];

/** The capabilities of each format: CONTRACT.md "What fetch --format writes into --out". */
const REACH: Record<FormatName, Reach> = {
  notation: { verifier: 'notation', anchors: CERTIFICATES, certificates: 'crl', signatures: false },
  pem: { verifier: 'openssl (or another reader of PEM bundles)', anchors: CERTIFICATES, certificates: 'crl', signatures: false },
  containers: { verifier: 'containers-policy.json (podman, skopeo, CRI-O)', anchors: ['publicKey', 'pgp'], certificates: 'crl', signatures: false },
  json: { verifier: 'the reader of the trust documents', anchors: ALL, certificates: 'document', signatures: true },
  sigstore: { verifier: 'a Sigstore client (cosign, sigstore-js)', anchors: ['ca', 'tsa', 'publicKey'], certificates: 'none', signatures: false },
  // Kyverno's verifyImages reads no CRLs from its policy; Ratify's inline providers carry none.
  kubernetes: { verifier: 'Kyverno or Ratify', anchors: [...CERTIFICATES, 'publicKey'], certificates: 'none', signatures: false },
};

/** Formats that do carry an anchor type, for the advice. */
const CARRIED_BY: Record<AnchorType, string> = {
  ca: 'notation or pem',
  signingAuthority: 'notation or pem',
  tsa: 'notation or pem',
  publicKey: 'containers or sigstore',
  pgp: 'containers',
};

const FULL_PATHS = '`keyshare check`, or the managed signing authority (`keyshare ca`)';

/**
 * The serials each CRL target lists, as BigInt hex strings; `null` for a CRL given but
 * unreadable. A target absent from the map was not given.
 */
export type CrlListings = ReadonlyMap<string, ReadonlySet<string> | null>;

/** The canonical form of a hex serial (RFC 5280 4.1.2.2: an integer, however padded). */
export function serialKey(hex: string): string {
  return BigInt(`0x${hex}`).toString(16);
}

/** The written certificate anchors of `doc` that certificate revocations can fall below. */
function writtenIssuers(format: FormatName, doc: TrustDocument): Map<string, TrustAnchor> {
  const reach = REACH[format];
  return new Map(doc.anchors.filter((a) => CERTIFICATES.includes(a.type) && reach.anchors.includes(a.type)).map((a) => [a.id, a]));
}

/** The CRL targets whose entries decide items of `format` (to parse before calling `unenforced`). */
export function crlTargetsToRead(format: FormatName, documents: readonly TrustDocument[]): string[] {
  if (REACH[format].certificates !== 'crl') return [];
  const targets = new Set<string>();
  for (const doc of documents) {
    if (doc.level === 'skip') continue;
    const issuers = writtenIssuers(format, doc);
    for (const c of doc.revoked.certificates) {
      const crl = issuers.has(c.issuer) ? doc.crls.find((e) => e.issuer === c.issuer) : undefined;
      if (crl) targets.add(crl.target);
    }
  }
  return [...targets].sort(compare);
}

/** Every item of `documents` that the files of `format` do not enforce, in scope order. */
export function unenforced(format: FormatName, documents: readonly TrustDocument[], crls: CrlListings = new Map()): UnenforcedItem[] {
  const reach = REACH[format];
  const items: UnenforcedItem[] = [];
  for (const doc of sortedDocuments([...documents])) {
    if (doc.level === 'skip') continue;
    const add = (kind: UnenforcedKind, id: string, reason: string) => items.push({ scope: doc.scope, kind, id, reason });
    for (const a of doc.anchors) {
      if (reach.anchors.includes(a.type)) continue;
      add('anchor', a.id, `${format} cannot carry ${a.type} anchor "${a.name || a.id}": left out, so ${reach.verifier} refuses what it signed; fetch --format ${CARRIED_BY[a.type]} for it`);
    }
    if (reach.certificates !== 'document') {
      const issuers = writtenIssuers(format, doc);
      for (const c of doc.revoked.certificates) {
        const issuer = issuers.get(c.issuer);
        if (!issuer) continue; // below no written anchor: nothing written trusts it
        if (reach.certificates === 'none') {
          add(
            'certificate',
            `${c.issuer}/${c.serial}`,
            `certificate serial ${c.serial} below anchor "${issuer.name || issuer.id}" is revoked (${c.reason}), but ${reach.verifier} reads no revocations below a CA; enforce it with ${FULL_PATHS}, or revoke the CA`,
          );
          continue;
        }
        const why = crlGap(doc, c.issuer, c.serial, crls);
        if (why === null) continue;
        add(
          'certificate',
          `${c.issuer}/${c.serial}`,
          `certificate serial ${c.serial} below anchor "${issuer.name || issuer.id}" is revoked (${c.reason}), but ${reach.verifier} learns ` +
            `revocations below a CA only from its CRL, and ${why}; enforce it with a CRL from that CA that lists it (keyshare crl add), ${FULL_PATHS}`,
        );
      }
    }
    if (!reach.signatures) {
      for (const s of doc.revoked.signatures) {
        add('signature', s.digest, `a revoked signature (${s.reason}) cannot be expressed for ${reach.verifier}, which accepts it while its signer is trusted; enforce it with \`keyshare check --signature\`, or revoke the key or certificate that made it`);
      }
    }
  }
  return items;
}

/** Why the CA's CRL does not carry a revocation, or null when it does. */
function crlGap(doc: TrustDocument, issuer: string, serial: string, crls: CrlListings): string | null {
  const entry = doc.crls.find((e) => e.issuer === issuer);
  if (!entry) return 'this CA has no CRL in keyshare';
  if (!crls.has(entry.target)) return `its CRL ${entry.target} was not fetched, so whether it lists the serial is unknown`;
  const listed = crls.get(entry.target);
  if (listed === null) return `its CRL ${entry.target} cannot be read`;
  return listed!.has(serialKey(serial)) ? null : `its CRL ${entry.target} does not list this serial`;
}

/**
 * `unenforced` for a writer's input: reads the serials of the CRLs that decide an item. The CRL
 * parser (X.509) is loaded only when there are such CRLs (CLI start-up, bench B5).
 */
export async function unenforcedFor(format: FormatName, input: { documents: readonly TrustDocument[]; crls?: ReadonlyMap<string, Uint8Array> }): Promise<UnenforcedItem[]> {
  const listings = new Map<string, ReadonlySet<string> | null>();
  const given = crlTargetsToRead(format, input.documents).filter((t) => input.crls?.has(t));
  if (given.length > 0) {
    const { parseCrl } = await import('../../service/crypto/crl.js');
    for (const target of given) {
      try {
        listings.set(target, new Set(parseCrl(input.crls!.get(target)!).entries.map((e) => serialKey(e.serialHex))));
      } catch {
        listings.set(target, null);
      }
    }
  }
  return unenforced(format, input.documents, listings);
}
