/**
 * @tufjs/models isTargetInPathPattern (DelegatedRole.isDelegatedPath; TUF spec 5.6.7 `paths`) for
 * patterns whose components are literal or `*`: as many components as the path, each equal, or
 * any name for `*` (minimatch: not empty, not a dotfile). Undefined for any other glob (and for a
 * component minimatch reads as a comment): minimatch decides those. keyshare's delegations use
 * only such patterns (`index/*`, a tenant's `trust/<pattern>/*.json`), so neither the client's
 * check of an unchanged repository nor the service's walk of a publish loads minimatch.
 */
export function inLiteralPathPattern(parts: readonly string[], pattern: string): boolean | undefined {
  if (/[?[\]{}()!+@\\#]/.test(pattern)) return undefined;
  const want = pattern.split('/');
  if (want.length !== parts.length) return false;
  let undecided = false;
  const matched = want.every((w, i) => {
    const part = parts[i]!;
    if (w === '*') return part !== '' && !part.startsWith('.');
    if (w.includes('*')) undecided = true;
    return w === part;
  });
  return undecided ? undefined : matched;
}
