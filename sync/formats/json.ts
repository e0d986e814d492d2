/**
 * `fetch --format json`: the verified trust documents as published (CONTRACT.md), one
 * `{store}.json` each (2-space JSON, trailing newline), plus `index.json` mapping scope to file.
 */
import { KeyshareError } from '../../shared/errors.js';
import { unenforcedFor } from './enforce.js';
import { assignStores, jsonText, sortedDocuments, sortFiles } from './names.js';
import { FormatCodes, type FormatInput, type FormatOutput, type OutputFile } from './types.js';

export interface JsonFormatIndex {
  scopes: { scope: string; file: string; version: number }[];
}

export async function writeJson(input: FormatInput): Promise<FormatOutput> {
  const stores = assignStores(input.documents);
  const files: OutputFile[] = [];
  const index: JsonFormatIndex = { scopes: [] };
  for (const doc of sortedDocuments(input.documents)) {
    const file = `${stores.get(doc.scope)!}.json`;
    if (file === 'index.json') {
      throw new KeyshareError(FormatCodes.FORMAT_UNSUPPORTED, `json: scope ${doc.scope} would overwrite index.json`);
    }
    files.push({ path: file, content: jsonText(doc) });
    index.scopes.push({ scope: doc.scope, file, version: doc.version });
  }
  files.push({ path: 'index.json', content: jsonText(index) });
  return { files: sortFiles(files), warnings: [], unenforced: await unenforcedFor('json', input) };
}
