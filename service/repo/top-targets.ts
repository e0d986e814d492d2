/**
 * The top-level targets role's own target, index.json, whose entry also states whether the
 * default scope `*` is defined (service/domain/trust-index.ts indexCustom; issue 17, bench B5:
 * a client resolving one repository learns it there, without the bin that would prove `*`
 * absent). Targets is re-signed when index.json changes (the bins grow) or `*` comes or goes.
 */
import { TargetFile, type Targets } from '@tufjs/models';
import { INDEX_TARGET, defaultScopeStated, indexCustom } from '../domain/trust-index.js';
import { nextTargets, targetFile } from './writer.js';

/** index.json's entry: its length and hash, and what it states about `*`. */
export function indexTargetFile(file: { length: number; hashes: Record<string, string> }, defaultScopeDefined: boolean): TargetFile {
  return new TargetFile({ path: INDEX_TARGET, length: file.length, hashes: file.hashes, unrecognizedFields: { custom: indexCustom(defaultScopeDefined) } });
}

export function indexTargetOf(bytes: Uint8Array, defaultScopeDefined: boolean): TargetFile {
  return indexTargetFile(targetFile(INDEX_TARGET, bytes), defaultScopeDefined);
}

/**
 * The next top-level targets: with index.json's new bytes (`header`, when the bins grew) and the
 * statement about `*`; null when neither changes and `force` (its expiry) does not ask for one.
 */
export function nextTopLevel(old: Targets, expires: string, header: Buffer | null, defaultScopeDefined: boolean, force: boolean): Targets | null {
  const served = old.targets[INDEX_TARGET];
  const statementChanges = defaultScopeStated(served?.custom) !== defaultScopeDefined;
  if (!header && !statementChanges && !force) return null;
  const next = nextTargets(old, expires);
  const file = header ? targetFile(INDEX_TARGET, header) : served;
  if (file) next.targets[INDEX_TARGET] = indexTargetFile(file, defaultScopeDefined);
  return next;
}
