/**
 * Format writers for `keyshare fetch --format`: pure functions from verified trust documents
 * to files (no fs, no network). The caller stages the files and renames them into --out.
 */
import { KeyshareError } from '../../service/errors.js';
import { writeContainers } from './containers.js';
import { writeJson } from './json.js';
import { writeNotation } from './notation.js';
import { writePem } from './pem.js';
import { FORMAT_NAMES, FormatCodes, type FormatInput, type FormatName, type FormatOutput } from './types.js';

const WRITERS: Record<FormatName, (input: FormatInput) => Promise<FormatOutput>> = {
  notation: writeNotation,
  containers: writeContainers,
  pem: writePem,
  json: writeJson,
};

export async function writeFormat(name: FormatName, input: FormatInput): Promise<FormatOutput> {
  if (!(FORMAT_NAMES as readonly string[]).includes(name)) {
    throw new KeyshareError(FormatCodes.FORMAT_UNSUPPORTED, `unknown format ${String(name)}: use one of ${FORMAT_NAMES.join(', ')}`);
  }
  return WRITERS[name](input);
}

export { writeNotation, isRegistryScope, type NotationPolicy, type NotationTrustPolicyDocument } from './notation.js';
export { writeContainers, type ContainersPolicy, type PolicyRequirement } from './containers.js';
export { writePem } from './pem.js';
export { writeJson, type JsonFormatIndex } from './json.js';
export { storeName } from './names.js';
export * from './types.js';
