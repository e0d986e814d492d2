/**
 * `fetch --format containers`: containers-policy.json(5) plus containers-registries.d(5)
 * for podman, skopeo, buildah and CRI-O.
 *
 * - `policy.json`: `default` holds the requirements of the `*` scope, or `reject` without it
 *   (the man page strongly recommends a reject default). Every other scope is a
 *   `transports.docker` entry under its keyshare name: docker scopes are a host[:port], a
 *   repository namespace or repository, or a `*.example.com` wildcard, exactly the keyshare
 *   scope syntax, and the most specific scope wins in both.
 * - Level skip: `insecureAcceptAnything`. Other levels: OpenPGP anchors give one `signedBy`
 *   (keyType GPGKeys) over one binary keyring `keys/{store}.gpg` holding every key;
 *   public-key anchors give one `sigstoreSigned` with `keyPath` (one key) or `keyPaths`
 *   (several: "only signatures made by any key in the list are accepted"; added in
 *   containers/image 5.34, and older versions refuse the whole file, hence a warning).
 *   Both use `signedIdentity: matchRepository`, since cosign signatures only name a
 *   repository. Key paths are absolute, under the final --out.
 * - A scope with both kinds cannot be written: requirements in one array are ANDed, so it
 *   would demand two signatures instead of either one: FORMAT_UNSUPPORTED.
 * - A scope with neither kind gets `reject`. Certificate anchors are left out (enforce.ts lists
 *   them): `sigstoreSigned.pki` needs an e-mail or host name identity that keyshare does not carry.
 * - containers enforces or rejects, it cannot log: `audit` is enforced (with a warning).
 * - `registries.d/keyshare.yaml` turns on `use-sigstore-attachments` for every scope that uses
 *   `sigstoreSigned` (`default-docker` for `*`), or sigstore signatures are never read. With
 *   `--lookaside URL` (and `--lookaside-staging URL`) it also names where simple-signing
 *   signatures are read (and written), in `default-docker`: containers/image falls back from a
 *   namespace without a lookaside to `default-docker`, so one entry serves every scope, and the
 *   user has nothing to add to registries.d by hand.
 */
import path from 'node:path';
import { stringify } from 'yaml';
import { pgpKeyring } from '../../service/crypto/index.js';
import { KeyshareError } from '../../shared/errors.js';
import type { TrustAnchor, TrustDocument } from '../../shared/types.js';
import { unenforcedFor } from './enforce.js';
import {
  anchorFileBase,
  anchorPem,
  anchorsOfType,
  assignStores,
  jsonText,
  sortedDocuments,
  sortFiles,
  uniqueName,
} from './names.js';
import { FormatCodes, type FormatInput, type FormatOutput, type OutputFile } from './types.js';

export type PolicyRequirement = Record<string, unknown>;

export interface ContainersPolicy {
  default: PolicyRequirement[];
  transports: { docker: Record<string, PolicyRequirement[]> };
}

const REJECT: PolicyRequirement = { type: 'reject' };
const MATCH_REPOSITORY = { type: 'matchRepository' };

export async function writeContainers(input: FormatInput): Promise<FormatOutput> {
  // containers-policy.json(5): key paths must not depend on the working directory.
  if (!path.isAbsolute(input.outDir)) {
    throw new KeyshareError(FormatCodes.FORMAT_INPUT_INVALID, `the output directory ${input.outDir} is not an absolute path`);
  }
  const stores = assignStores(input.documents);
  const files: OutputFile[] = [];
  const warnings: string[] = [];
  const policy: ContainersPolicy = { default: [REJECT], transports: { docker: {} } };
  const attachments: string[] = [];

  for (const doc of sortedDocuments(input.documents)) {
    const scoped = await scopeRequirements(doc, stores.get(doc.scope)!, input.outDir, warnings);
    files.push(...scoped.files);
    if (doc.scope === '*') policy.default = scoped.requirements;
    else policy.transports.docker[doc.scope] = scoped.requirements;
    if (scoped.sigstore) attachments.push(doc.scope);
  }

  files.push({ path: 'policy.json', content: jsonText(policy) });
  files.push({ path: 'registries.d/keyshare.yaml', content: registriesD(attachments, input.lookaside ?? {}) });
  const signedBy = Object.values(policy.transports.docker).concat([policy.default]).some((r) => r.some((q) => q['type'] === 'signedBy'));
  if (signedBy && !input.lookaside?.url) {
    warnings.push(
      'containers: OpenPGP (signedBy) scopes need their signatures from a lookaside: pass --lookaside URL, ' +
        'or containers/image reads only its built-in default (file:///var/lib/containers/sigstore)',
    );
  }
  return { files: sortFiles(files), warnings, unenforced: await unenforcedFor('containers', input) };
}

interface ScopeRequirements {
  requirements: PolicyRequirement[];
  files: OutputFile[];
  /** True when the requirements use sigstoreSigned. */
  sigstore: boolean;
}

async function scopeRequirements(
  doc: TrustDocument,
  store: string,
  outDir: string,
  warnings: string[],
): Promise<ScopeRequirements> {
  // containers-policy.json(5) insecureAcceptAnything: "no signature verification is required".
  if (doc.level === 'skip') return { requirements: [{ type: 'insecureAcceptAnything' }], files: [], sigstore: false };

  const pgp = anchorsOfType(doc, ['pgp']);
  const keys = anchorsOfType(doc, ['publicKey']);
  if (pgp.length > 0 && keys.length > 0) {
    throw new KeyshareError(
      FormatCodes.FORMAT_UNSUPPORTED,
      `containers: scope ${doc.scope} has both OpenPGP and public-key anchors; policy.json requirements are all required ` +
        `(ANDed), so "signed by either" cannot be expressed: fetch with another format or split the scope`,
    );
  }
  if (pgp.length === 0 && keys.length === 0) {
    warnings.push(`containers: scope ${doc.scope} has no OpenPGP or public-key anchors; its images are rejected`);
    return { requirements: [REJECT], files: [], sigstore: false };
  }
  if (doc.level === 'audit') {
    warnings.push(`containers: scope ${doc.scope} has level audit, which policy.json cannot express; signatures are enforced`);
  }
  if (pgp.length > 0) return gpgRequirement(doc, pgp, store, outDir);
  if (keys.length > 1) {
    warnings.push(
      `containers: scope ${doc.scope} trusts ${keys.length} public keys, written as sigstoreSigned keyPaths, ` +
        'which needs containers/image 5.34 or later; older versions refuse the whole policy.json',
    );
  }
  return sigstoreRequirement(doc, keys, store, outDir);
}

/** One `signedBy` GPGKeys over one binary keyring holding every OpenPGP key of the scope. */
async function gpgRequirement(doc: TrustDocument, pgp: TrustAnchor[], store: string, outDir: string): Promise<ScopeRequirements> {
  const file = `keys/${store}.gpg`;
  const keyring = await pgpKeyring(pgp.map((a) => anchorPem(doc.scope, a, 'publicKey')));
  return {
    requirements: [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: absolute(outDir, file), signedIdentity: MATCH_REPOSITORY }],
    files: [{ path: file, content: keyring }],
    sigstore: false,
  };
}

/** One `sigstoreSigned` with `keyPath` for one key, `keyPaths` for several; one PEM file per key. */
function sigstoreRequirement(doc: TrustDocument, keys: TrustAnchor[], store: string, outDir: string): ScopeRequirements {
  const used = new Set<string>();
  const files = keys.map((a) => ({
    path: `keys/${store}/${uniqueName(anchorFileBase(a), used, '.pub')}`,
    content: anchorPem(doc.scope, a, 'publicKey'),
  }));
  const paths = files.map((f) => absolute(outDir, f.path));
  const requirement: PolicyRequirement =
    paths.length === 1
      ? { type: 'sigstoreSigned', keyPath: paths[0], signedIdentity: MATCH_REPOSITORY }
      : { type: 'sigstoreSigned', keyPaths: paths, signedIdentity: MATCH_REPOSITORY };
  return { requirements: [requirement], files, sigstore: true };
}

/**
 * containers-registries.d(5): `docker` keys are namespaces like policy.json scopes, and
 * `default-docker` covers the rest. Only one file may define a given namespace, so users
 * must not repeat these scopes in their own registries.d files.
 */
function registriesD(scopes: string[], lookaside: NonNullable<FormatInput['lookaside']>): string {
  const config: Record<string, unknown> = {};
  // A fresh object each time: a shared one would be written as a YAML anchor and aliases.
  const on = () => ({ 'use-sigstore-attachments': true });
  const defaults = {
    ...(lookaside.url ? { lookaside: lookaside.url } : {}),
    ...(lookaside.staging ? { 'lookaside-staging': lookaside.staging } : {}),
    ...(scopes.includes('*') ? on() : {}),
  };
  if (Object.keys(defaults).length > 0) config['default-docker'] = defaults;
  const docker = Object.fromEntries(scopes.filter((s) => s !== '*').map((s) => [s, on()]));
  if (Object.keys(docker).length > 0) config['docker'] = docker;
  return '# Written by keyshare fetch --format containers: where policy.json needs signatures read from (--lookaside, sigstore attachments).\n' + stringify(config);
}

function absolute(outDir: string, relative: string): string {
  return path.join(outDir, ...relative.split('/'));
}
