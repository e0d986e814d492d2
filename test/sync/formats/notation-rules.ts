/**
 * An independent check of notation output against notation's published rules
 * (notaryproject specifications, trust-store-trust-policy.md), returning every violation.
 */
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { OutputFile } from '../../../sync/formats/index.js';

const LEVELS = ['strict', 'permissive', 'audit', 'skip'];
const STORE_TYPES = ['ca', 'signingAuthority', 'tsa'];
const NAMED_STORE = /^[a-zA-Z0-9_.-]+$/;
// Fully qualified repository: domain[:port]/path, as in the distribution reference grammar.
const REPOSITORY =
  /^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TRUST_STORE_FILE = /^truststore\/x509\/(ca|signingAuthority|tsa)\/([a-zA-Z0-9_.-]+)\/[^/]+\.(pem|crt|cer)$/;

export function notationViolations(files: OutputFile[]): string[] {
  const v: string[] = [];
  const byPath = new Map(files.map((f) => [f.path, f.content]));

  // Files: only the two policy files and certificates directly inside a named store.
  for (const f of files) {
    if (f.path === 'trustpolicy.json' || f.path === 'trustpolicy.oci.json') continue;
    if (!TRUST_STORE_FILE.test(f.path)) v.push(`unexpected file ${f.path}`);
    else if (typeof f.content !== 'string' || (f.content.match(/-----BEGIN CERTIFICATE-----/g) ?? []).length !== 1) {
      v.push(`${f.path} does not hold exactly one PEM certificate`);
    }
  }
  const policyText = byPath.get('trustpolicy.json');
  if (policyText !== byPath.get('trustpolicy.oci.json')) v.push('trustpolicy.json and trustpolicy.oci.json differ');
  if (typeof policyText !== 'string') return [...v, 'no trustpolicy.json'];

  const doc = JSON.parse(policyText) as Record<string, unknown>;
  if (doc['version'] !== '1.0') v.push('version must be "1.0"');
  const policies = doc['trustPolicies'];
  if (!Array.isArray(policies) || policies.length === 0) return [...v, 'trustPolicies must be a non-empty array'];

  const names = new Set<string>();
  const scopes = new Set<string>();
  for (const p of policies as Record<string, unknown>[]) {
    const name = p['name'];
    if (typeof name !== 'string' || name === '') v.push('a policy has no name');
    else if (names.has(name)) v.push(`policy name ${name} is not unique`);
    else names.add(name);

    const rs = p['registryScopes'];
    if (!Array.isArray(rs) || rs.length === 0) v.push(`${name}: registryScopes is empty`);
    else {
      if (rs.includes('*') && rs.length > 1) v.push(`${name}: * must stand alone`);
      for (const s of rs as string[]) {
        if (s !== '*' && (s.includes('*') || !REPOSITORY.test(s))) v.push(`${name}: ${s} is not a fully qualified repository`);
        if (scopes.has(s)) v.push(`${name}: registry scope ${s} is in more than one policy`);
        scopes.add(s);
      }
    }

    const sv = p['signatureVerification'] as Record<string, unknown> | undefined;
    const level = sv?.['level'];
    if (typeof level !== 'string' || !LEVELS.includes(level)) {
      v.push(`${name}: bad level ${String(level)}`);
      continue;
    }
    if (level === 'skip') {
      if ('trustStores' in p || 'trustedIdentities' in p) v.push(`${name}: skip must have no trustStores or trustedIdentities`);
      if (Array.isArray(rs) && rs.includes('*')) v.push(`${name}: skip cannot be used with the global scope`);
      continue;
    }

    const stores = p['trustStores'];
    if (!Array.isArray(stores) || stores.length === 0) v.push(`${name}: trustStores is required`);
    else {
      for (const s of stores as string[]) {
        const [type, store, ...rest] = s.split(':');
        if (rest.length > 0 || !STORE_TYPES.includes(type ?? '') || !NAMED_STORE.test(store ?? '')) {
          v.push(`${name}: bad trust store ${s}`);
        } else if (!files.some((f) => f.path.startsWith(`truststore/x509/${type}/${store}/`))) {
          v.push(`${name}: trust store ${s} has no certificates`);
        }
      }
      if (!(stores as string[]).some((s) => s.startsWith('ca:') || s.startsWith('signingAuthority:'))) {
        v.push(`${name}: no ca or signingAuthority store to verify signers`);
      }
    }

    const ids = p['trustedIdentities'];
    if (!Array.isArray(ids) || ids.length === 0) v.push(`${name}: trustedIdentities is required`);
    else {
      if (ids.includes('*') && ids.length > 1) v.push(`${name}: * identity must stand alone`);
      const dns: Map<string, string>[] = [];
      for (const id of ids as string[]) {
        if (id === '*') continue;
        if (!id.startsWith('x509.subject:')) {
          v.push(`${name}: identity ${id} is not x509.subject`);
          continue;
        }
        // Simple RDN split: the test identities use no escapes.
        const dn = new Map(
          id
            .slice('x509.subject:'.length)
            .split(',')
            .map((r) => r.split('=').map((x) => x.trim()) as [string, string]),
        );
        for (const m of ['C', 'ST', 'O']) if (!dn.has(m)) v.push(`${name}: identity ${id} lacks ${m}`);
        dns.push(dn);
      }
      for (let i = 0; i < dns.length; i++) {
        for (let j = 0; j < dns.length; j++) {
          if (i !== j && [...dns[i]!].every(([k, val]) => dns[j]!.get(k) === val)) v.push(`${name}: identities overlap`);
        }
      }
    }
  }
  return v;
}

/** Spec "Trust Store": symlinks are not supported; every entry written must be a regular file or directory. */
export function nonRegularEntries(dir: string): string[] {
  const bad: string[] = [];
  for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const st = lstatSync(join(dir, entry));
    if (!st.isFile() && !st.isDirectory()) bad.push(entry);
  }
  return bad;
}
