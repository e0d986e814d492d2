/**
 * Format writers for `keyshare fetch --format`: pure functions from verified trust documents
 * to files (no fs, no network). The caller stages the files and renames them into --out.
 */
import { KeyshareError } from '../../shared/errors.js';
import { writeJson } from './json.js';
import { writeNotation } from './notation.js';
import { writePem } from './pem.js';
import { FORMAT_NAMES, FormatCodes, type FormatInput, type FormatName, type FormatOutput } from './types.js';

/**
 * The containers writer pulls in yaml and OpenPGP: it is loaded when used, so that `keyshare
 * fetch` of the other formats starts without them (bench B5, docs/BENCHMARKS.md).
 */
export async function writeContainers(input: FormatInput): Promise<FormatOutput> {
  return (await import('./containers.js')).writeContainers(input);
}

/** The sigstore writer parses X.509: loaded when used, as containers. */
export async function writeSigstore(input: FormatInput): Promise<FormatOutput> {
  return (await import('./sigstore.js')).writeSigstore(input);
}

/** The kubernetes writer pulls in yaml: loaded when used, as containers. */
export async function writeKubernetes(input: FormatInput): Promise<FormatOutput> {
  return (await import('./kubernetes.js')).writeKubernetes(input);
}

const WRITERS: Record<FormatName, (input: FormatInput) => Promise<FormatOutput>> = {
  notation: writeNotation,
  containers: writeContainers,
  pem: writePem,
  json: writeJson,
  sigstore: writeSigstore,
  kubernetes: writeKubernetes,
};

export async function writeFormat(name: FormatName, input: FormatInput): Promise<FormatOutput> {
  if (!(FORMAT_NAMES as readonly string[]).includes(name)) {
    throw new KeyshareError(FormatCodes.FORMAT_UNSUPPORTED, `unknown format ${String(name)}: use one of ${FORMAT_NAMES.join(', ')}`);
  }
  return WRITERS[name](input);
}

export { writeNotation, isRegistryScope, type NotationPolicy, type NotationTrustPolicyDocument } from './notation.js';
export type { SigstoreTrustedRoot, SigstoreCertificateAuthority } from './sigstore.js';
export type { ContainersPolicy, PolicyRequirement } from './containers.js';
export { writePem } from './pem.js';
export { writeJson, type JsonFormatIndex } from './json.js';
export { storeName } from './names.js';
export { unenforced, unenforcedFor, crlTargetsToRead, type UnenforcedItem, type UnenforcedKind } from './enforce.js';
export * from './types.js';
