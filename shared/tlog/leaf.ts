/**
 * The log's entries (issue 23): one per published timestamp version, a canonical text record of
 * what that version commits to. Pure.
 *
 *   keyshare-log-entry/v1
 *   timestamp <version> sha256:<hex of timestamp.json as served>
 *   snapshot <version> sha256:<hex of <version>.snapshot.json as served>
 *   time <ISO 8601, UTC, seconds>
 *   audit <seq> sha256:<hex of the audit chain head>   (the hash chain commits to every earlier entry)
 *
 * The audit line is `audit none` before the first audit entry.
 */
export const ENTRY_HEADER = 'keyshare-log-entry/v1';

export interface LogEntry {
  timestamp: { version: number; sha256: string };
  snapshot: { version: number; sha256: string };
  time: string;
  audit: { seq: number; hash: string } | null;
}

export class EntryFormatError extends Error {
  override name = 'EntryFormatError';
}

export function formatEntry(e: LogEntry): Uint8Array {
  return Buffer.from(
    [
      ENTRY_HEADER,
      `timestamp ${e.timestamp.version} sha256:${e.timestamp.sha256}`,
      `snapshot ${e.snapshot.version} sha256:${e.snapshot.sha256}`,
      `time ${e.time}`,
      e.audit ? `audit ${e.audit.seq} sha256:${e.audit.hash}` : 'audit none',
    ].join('\n') + '\n',
    'utf8',
  );
}

const LINE = {
  timestamp: /^timestamp ([1-9]\d*) sha256:([0-9a-f]{64})$/,
  snapshot: /^snapshot ([1-9]\d*) sha256:([0-9a-f]{64})$/,
  time: /^time (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)$/,
  audit: /^audit (?:none|(0|[1-9]\d*) sha256:([0-9a-f]{64}))$/,
};

/** Parses an entry; only the canonical form is accepted (formatEntry(parseEntry(b)) equals b). */
export function parseEntry(bytes: Uint8Array): LogEntry {
  const lines = Buffer.from(bytes).toString('utf8').split('\n');
  const [header, ts, snap, time, audit, end, ...extra] = lines;
  const t = LINE.timestamp.exec(ts ?? '');
  const s = LINE.snapshot.exec(snap ?? '');
  const at = LINE.time.exec(time ?? '');
  const a = LINE.audit.exec(audit ?? '');
  if (header !== ENTRY_HEADER || !t || !s || !at || !a || end !== '' || extra.length > 0) throw new EntryFormatError(`not a ${ENTRY_HEADER} log entry`);
  return {
    timestamp: { version: Number(t[1]), sha256: t[2]! },
    snapshot: { version: Number(s[1]), sha256: s[2]! },
    time: at[1]!,
    audit: a[1] === undefined ? null : { seq: Number(a[1]), hash: a[2]! },
  };
}
