/**
 * `fetch --format pem`: one `{store}.pem` certificate bundle per scope (CONTRACT.md), every
 * certificate anchor (ca, signingAuthority, tsa) of the scope concatenated in ID order.
 */
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
  }
  return { files: sortFiles(files), warnings };
}
