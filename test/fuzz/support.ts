/**
 * Property-test support: run counts (scaled up by KEYSHARE_FUZZ_SCALE in `npm run soak`),
 * mutations of valid seeds (the inputs most likely to reach deep into a parser), and the
 * properties every refusal must have: a KeyshareError with a stable code, nothing stored.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import { isKeyshareError } from '../../service/errors.js';
import type { Store } from '../../service/store/index.js';
import { dumpTable, tableNames } from '../support/store.js';

const SCALE = Math.max(1, Number(process.env.KEYSHARE_FUZZ_SCALE ?? '1') || 1);

/** fast-check parameters: `n` runs in `npm test`, n x KEYSHARE_FUZZ_SCALE in the soak; a fixed seed when KEYSHARE_FUZZ_SEED is set. */
export function runs(n: number): fc.Parameters<unknown> {
  const seed = process.env.KEYSHARE_FUZZ_SEED;
  return { numRuns: n * SCALE, ...(seed ? { seed: Number(seed) } : {}), endOnFailure: true };
}

export const CODE = /^[A-Z][A-Z0-9_]*$/;

/** The outcome of a call that may refuse: 'ok', or the code of the KeyshareError it threw. Anything else fails the property. */
export async function outcome(fn: () => unknown): Promise<string> {
  try {
    await fn();
    return 'ok';
  } catch (e) {
    if (!isKeyshareError(e)) throw new Error(`not a coded error: ${(e as Error)?.stack ?? String(e)}`);
    expect(e.code).toMatch(CODE);
    expect(e.message.length).toBeGreaterThan(0);
    return e.code;
  }
}

type Op = { kind: 'flip'; pos: number; bit: number } | { kind: 'set'; pos: number; value: number } | { kind: 'truncate'; pos: number } | { kind: 'insert'; pos: number; bytes: Uint8Array } | { kind: 'delete'; pos: number; len: number } | { kind: 'repeat'; pos: number; len: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), pos: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), pos: fc.nat(), value: fc.constantFrom(0x00, 0x01, 0x7f, 0x80, 0x81, 0x82, 0x84, 0xff, 0x30, 0x02, 0x04, 0x05, 0x06) }),
  fc.record({ kind: fc.constant('truncate' as const), pos: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), pos: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ kind: fc.constant('delete' as const), pos: fc.nat(), len: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ kind: fc.constant('repeat' as const), pos: fc.nat(), len: fc.integer({ min: 1, max: 64 }) }),
);

function apply(b: Buffer, o: Op): Buffer {
  if (b.length === 0) return o.kind === 'insert' ? Buffer.from(o.bytes) : b;
  const pos = o.pos % b.length;
  switch (o.kind) {
    case 'flip': {
      const c = Buffer.from(b);
      c[pos]! ^= 1 << o.bit;
      return c;
    }
    case 'set': {
      const c = Buffer.from(b);
      c[pos] = o.value;
      return c;
    }
    case 'truncate':
      return b.subarray(0, pos);
    case 'insert':
      return Buffer.concat([b.subarray(0, pos), o.bytes, b.subarray(pos)]);
    case 'delete':
      return Buffer.concat([b.subarray(0, pos), b.subarray(pos + o.len)]);
    case 'repeat':
      return Buffer.concat([b.subarray(0, pos + o.len), b.subarray(pos, pos + o.len), b.subarray(pos + o.len)]);
  }
}

/** A seed with one to four random byte-level mutations (flips, DER-ish bytes, cuts, inserts, repeats). */
export function mutated(seeds: Buffer[]): fc.Arbitrary<Buffer> {
  return fc.tuple(fc.constantFrom(...seeds), fc.array(op, { minLength: 1, maxLength: 4 })).map(([seed, ops]) => ops.reduce(apply, seed));
}

/** A text seed with character-level mutations (PEM, armor, JSON). */
export function mutatedText(seeds: string[]): fc.Arbitrary<string> {
  return mutated(seeds.map((s) => Buffer.from(s, 'utf8'))).map((b) => b.toString('utf8'));
}

/**
 * Every row of every table, for "nothing stored from a refused input". The audit log is left
 * out: it records refused writes on purpose.
 */
export async function dumpStore(store: Store): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const t of (await tableNames(store)).filter((t) => t !== 'audit')) {
    const rows = await dumpTable(store, t);
    out[t] = t === 'meta' ? rows.filter((r) => r.key !== 'audit_head') : rows;
  }
  return out;
}
