/**
 * `fetch --format pem`: one `{store}.pem` certificate bundle per scope (CONTRACT.md), every
 * certificate anchor (ca, signingAuthority, tsa) of the scope concatenated in ID order; and
 * beside it `{store}.crl.pem`, the CRLs the scope's document lists (issue 4), as `X509 CRL`
 * blocks (RFC 7468 section 6) in issuer order, for `openssl verify -crl_check -CRLfile`.
 */
// encoding.js alone: the crypto index loads X.509 and OpenPGP, which PEM bundles do not need (CLI start-up, bench B5).
import { encodePem } from '../../service/crypto/encoding.js';
import { unenforcedFor } from './enforce.js';
import { anchorPem, anchorsOfType, assignStores, sortedDocuments, sortFiles } from './names.js';
import type { FormatInput, FormatOutput, OutputFile } from './types.js';

const CERTIFICATE_TYPES = ['ca', 'signingAuthority', 'tsa'];

export async function writePem(input: FormatInput): Promise<FormatOutput> {
  const stores = assignStores(input.documents);
  const files: OutputFile[] = [];
  const warnings: string[] = [];
  for (const doc of sortedDocuments(input.documents)) {
    const certs = anchorsOfType(doc, CERTIFICATE_TYPES);
    if (certs.length === 0) {
      warnings.push(`pem: scope ${doc.scope} has no certificate anchors; no bundle written`);
      continue;
    }
    files.push({
      path: `${stores.get(doc.scope)!}.pem`,
      content: certs.map((a) => anchorPem(doc.scope, a, 'certificate')).join(''),
    });
    const crls = [...(doc.crls ?? [])].sort((a, b) => (a.issuer < b.issuer ? -1 : a.issuer > b.issuer ? 1 : 0));
    const blocks: string[] = [];
    for (const c of crls) {
      const der = input.crls?.get(c.target);
      if (der) blocks.push(encodePem('X509 CRL', der));
      else if (input.crls) warnings.push(`pem: the CRL ${c.target} of scope ${doc.scope} was not fetched; not in ${stores.get(doc.scope)!}.crl.pem`);
    }
    if (blocks.length > 0) files.push({ path: `${stores.get(doc.scope)!}.crl.pem`, content: blocks.join('') });
  }
  return { files: sortFiles(files), warnings, unenforced: await unenforcedFor('pem', input) };
}
