/**
 * The revocation journal (issue 24, row 1): an append-only file beside the database, one JSON
 * line per revocation the service stored. A restore from a backup or a dump loses every
 * revocation made after it, together with its audit entry; the journal lives outside the
 * database, so `keyshare revocations replay --since BACKUP` re-applies them in one command.
 *
 * A line is written after the revocation commits and before the write is acknowledged, and is
 * flushed to disk (fsync): every acknowledged revocation is in the journal. Replaying is
 * idempotent (a revocation already stored changes nothing), so a line too many is harmless.
 */
import { closeSync, existsSync, fstatSync, fsyncSync, openSync, readFileSync, readSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { KeyshareError } from './errors.js';
import type { RevocationInput } from './store/index.js';
import type { Revocations } from './domain/types.js';

export const JOURNAL_FILE = 'revocations.journal';
export const JOURNAL_MEDIA_TYPE = 'application/vnd.keyshare.revocation-journal.v1+json';
/** A journal larger than this is refused before it is read (a line is about 300 bytes). */
const MAX_JOURNAL_BYTES = 256 * 1024 * 1024;

export const JournalCodes = {
  /** The journal cannot be read, or a line in it is not a journal entry. */
  JOURNAL_INVALID: 'JOURNAL_INVALID',
} as const;

export interface JournalEntry {
  /** When the revocation was stored. */
  at: string;
  revocation: RevocationInput;
}

/** `<data>/revocations.journal` unless the `revocation-journal` setting names another file. */
export const journalPath = (dataDir: string, configured?: string | null) => configured ?? join(dataDir, JOURNAL_FILE);

export class RevocationJournal {
  constructor(
    readonly path: string,
    private readonly clock: () => Date = () => new Date(),
    /** A failed append (full disk, read-only file): the revocation is stored and published all the same, so it is reported, not thrown. */
    private readonly onError: (e: Error) => void = (e) => process.stderr.write(`keyshare: error: ${e.message}\n`),
  ) {}

  /** Appends the revocations, one line each, in one write, then fsync. */
  record(revocations: RevocationInput[]): void {
    if (revocations.length === 0) return;
    const at = this.clock().toISOString();
    const text = revocations.map((revocation) => JSON.stringify({ mediaType: JOURNAL_MEDIA_TYPE, at, revocation }) + '\n').join('');
    try {
      const fd = openSync(this.path, 'a+', 0o600);
      try {
        // After a crash that cut the last append short, start on a line of its own.
        const size = fstatSync(fd).size;
        const last = Buffer.alloc(1);
        if (size > 0) readSync(fd, last, 0, 1, size - 1);
        writeSync(fd, size > 0 && last[0] !== 0x0a ? `\n${text}` : text);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    } catch (e) {
      this.onError(new Error(`cannot append ${revocations.length} revocation(s) to the revocation journal ${this.path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): a restore would lose them`));
    }
  }
}

const KINDS = new Set(['certificate', 'key', 'signature']);

/** Reads a journal; a line cut short by a crash (not JSON) is skipped. */
export function readJournal(path: string): JournalEntry[] {
  const bad = (m: string) => new KeyshareError(JournalCodes.JOURNAL_INVALID, `${path}: ${m}`);
  if (!existsSync(path)) throw bad('no such file');
  if (statSync(path).size > MAX_JOURNAL_BYTES) throw bad(`larger than ${MAX_JOURNAL_BYTES} bytes`);
  const text = readFileSync(path, 'utf8');
  const lines = text.split('\n');
  const entries: JournalEntry[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let e: { mediaType?: unknown; at?: unknown; revocation?: RevocationInput };
    try {
      e = JSON.parse(line);
    } catch {
      return; // an append that a crash cut short (never acknowledged): the next one starts a new line
    }
    const r = e?.revocation;
    if (e?.mediaType !== JOURNAL_MEDIA_TYPE || typeof e.at !== 'string' || Number.isNaN(Date.parse(e.at)) || !r || !KINDS.has(r.kind) || typeof r.revokedAt !== 'string') {
      throw bad(`line ${i + 1} is not a ${JOURNAL_MEDIA_TYPE} entry`);
    }
    entries.push({ at: e.at, revocation: r });
  });
  return entries;
}

/** The identity of a revocation, as the store keys it: kind, what, and scope. */
export function revocationKey(r: Pick<RevocationInput, 'kind' | 'issuer' | 'serial' | 'id' | 'digest' | 'scope'>): string {
  const what = r.kind === 'certificate' ? `${r.issuer}/${r.serial}` : r.kind === 'key' ? r.id : r.digest;
  return `${r.kind}:${what}@${r.scope ?? '*all*'}`;
}

/** Revocations the journal holds, with their first journal time, that `stored` does not (oldest first). */
export function missingFrom(entries: JournalEntry[], stored: Revocations): JournalEntry[] {
  const have = new Set<string>([
    ...stored.certificates.map((c) => revocationKey({ kind: 'certificate', issuer: c.issuer, serial: c.serial, scope: c.scope ?? null })),
    ...stored.keys.map((k) => revocationKey({ kind: 'key', id: k.id, scope: k.scope ?? null })),
    ...stored.signatures.map((s) => revocationKey({ kind: 'signature', digest: s.digest, scope: s.scope ?? null })),
  ]);
  const seen = new Set<string>();
  return entries.filter((e) => {
    const key = revocationKey(e.revocation);
    if (have.has(key) || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** One line per revocation, for messages: `key sha256:ab12… (scope *) revoked 2026-…`. */
export function describeRevocation(r: RevocationInput): string {
  const what = r.kind === 'certificate' ? `certificate ${r.serial} of ${r.issuer}` : r.kind === 'key' ? `key ${r.id}` : `signature ${r.digest}`;
  return `${what}${r.scope ? ` at ${r.scope}` : ''}, revoked ${r.revokedAt}`;
}
