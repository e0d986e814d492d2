/**
 * Issue 22, item 5, "one sha256Hex": SHA-256 is computed in shared/hash.ts alone (hex, raw bytes,
 * the `sha256:` form, and chunk by chunk); no other source calls node:crypto's SHA-256 itself.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, sourceFiles } from '../support/source-files.js';

/** `createHash('sha256')` or the one-shot `hash('sha256', ...)`, with any quotes. */
const OWN_SHA256 = /\b(?:createHash|hash)\(\s*['"`]sha256['"`]/i;

/** Files that may still hash for themselves, each with its reason. */
const EXCEPTIONS: Record<string, string> = {};
const excepted = (f: string) => Object.keys(EXCEPTIONS).some((suffix) => f.endsWith(`/${suffix}`));

describe('sha256', () => {
  const files = sourceFiles(['service', 'sync', 'cli', 'shared']);
  const own = files.filter((f) => OWN_SHA256.test(readFileSync(join(ROOT, f), 'utf8')));

  it('is found by the pattern where it is computed: shared/hash.ts', () => {
    expect(files.length).toBeGreaterThan(100);
    expect(own).toContain('shared/hash.ts');
    for (const line of ["createHash('sha256')", 'createHash("SHA256")', "hash('sha256', path, 'buffer')", 'crypto.createHash(`sha256`)']) expect(OWN_SHA256.test(line), line).toBe(true);
    for (const line of ["createHash('sha512')", 'sha256Hex(bytes)', "hash: 'SHA-256'"]) expect(OWN_SHA256.test(line), line).toBe(false);
  });

  it('is computed in shared/hash.ts alone (sha256Hex, sha256Bytes, sha256Digest, sha256Stream)', () => {
    expect(own.filter((f) => f !== 'shared/hash.ts' && !excepted(f))).toEqual([]);
  });

  it('lists only exceptions that still hash for themselves (one that no longer does leaves the list)', () => {
    for (const suffix of Object.keys(EXCEPTIONS)) expect(own.some((f) => f.endsWith(`/${suffix}`)), suffix).toBe(true);
  });
});
