/**
 * Unknown fields in hand-written input (an apply file): refused with their path and the
 * nearest known name, so that a guess such as `key:` for `publicKey:` is never silently
 * ignored (issue 15). Pure.
 */

/** The known field a misspelt or shortened name most likely meant, if any is close. */
export function suggestField(name: string, known: readonly string[]): string | null {
  const lower = name.toLowerCase();
  // A shortened or differently cased name: `key` → publicKey, `cert` → certificate.
  const containing = known.filter((k) => k.toLowerCase().includes(lower) || (lower.length >= 4 && lower.includes(k.toLowerCase())));
  if (lower.length >= 3 && containing.length > 0) return containing.sort((a, b) => a.length - b.length)[0]!;
  // A typo: two edits, or a third of the letters for long names (`levle` → level).
  let best: { k: string; d: number } | null = null;
  for (const k of known) {
    const d = editDistance(lower, k.toLowerCase());
    if (d <= Math.max(k.length >= 4 ? 2 : 1, Math.floor(k.length / 3)) && (!best || d < best.d)) best = { k, d };
  }
  return best?.k ?? null;
}

/** Every field of `obj` that is not in `known`, as `{ path, message }` (path `at.field`). */
export function unknownFields(obj: object, known: readonly string[], at: string): { path: string; message: string }[] {
  return Object.keys(obj)
    .filter((k) => !known.includes(k))
    .map((k) => {
      const hint = suggestField(k, known);
      return { path: at ? `${at}.${k}` : k, message: `unknown field; ${hint ? `did you mean ${hint}?` : `expected one of ${known.join(', ')}`}` };
    });
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}
