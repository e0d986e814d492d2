/**
 * After a restore (issue 24, row 1): a restored service never publishes a trust state older
 * than one clients have seen, unless the operator confirms it, knowing what is lost.
 *
 * A restore (`keyshare restore`, `pg_restore`, a copied SQLite file) brings back the trust of
 * the backup. Versions published after it may have revoked keys; re-signing the old trust
 * above them (a version jump, or rotating the online keys) would make clients accept those
 * keys again. So, before `serve` publishes anything:
 *
 * 1. It learns the highest timestamp version published so far: the static dir's
 *    timestamp.json, each `--peer` (a replica, mirror or CDN serving the same repository), and
 *    `--min-version` from the operator.
 * 2. It compares it with the version whose trust the database holds: after `keyshare restore`
 *    the backup's (restore re-signs above it, with the same content), else the database's own.
 * 3. If versions are missing, it refuses with RESTORE_BEHIND, saying how many, and naming the
 *    revocations in the journal that the database lacks (`keyshare revocations replay`).
 *    After `keyshare restore`, when nothing tells what was published, it refuses as well.
 * 4. With `--accept-restore-loss`, or when nothing is missing, it jumps every role above the
 *    highest known version (so that clients accept the restored repository, TUF spec 5.4.3),
 *    records the decision in the audit log, and starts.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { MetadataKind } from '@tufjs/models';
import { AuditLog } from './audit/log.js';
import { KeyshareError, Codes } from './errors.js';
import { DEFAULT_EXPIRY, type ExpiryConfig } from './repo/layout.js';
import { loadSignersForRoot } from './repo/online-keys.js';
import { parseMetadata } from './repo/tuf.js';
import { jumpVersions } from './repo/version-jump.js';
import { describeRevocation, missingFrom, readJournal, RevocationJournal, type JournalEntry } from './revocation-journal.js';
import { openStore, storeDatabase, type Store } from './store/index.js';
import { attachLog } from './tlog/log.js';

/** Written by `keyshare restore` (service/backup.ts): the backup's versions, until a serve accepts the restore. */
export const RESTORED_FROM_META = 'restored_from';

export interface RestoredFrom {
  createdAt: string;
  restoredAt: string;
  versions: { timestamp: number };
  versionJump: number;
  /** Set by the first serve that checked the restore, or by `revocations replay`. */
  accepted?: { at: string; highest: number | null; missing: number };
  replayed?: { at: string; since: string; count: number };
}

export interface RestoreGuardOptions {
  dataDir: string;
  database?: string | null;
  staticDir?: string | null;
  /** `--peer URL`: servers of the same repository (their `/tuf/timestamp.json`). */
  peers?: string[];
  /** `--min-version N`: the highest timestamp version the operator knows clients saw. */
  minVersion?: number | null;
  /** `--accept-restore-loss`: serve the restored trust although versions are missing. */
  acceptLoss?: boolean;
  /** The revocation journal to compare with (service/revocation-journal.ts). */
  journal: string;
  clock?: () => Date;
  log?: (e: Record<string, unknown>) => void;
  /** How a peer's timestamp version is read (tests); default: GET {peer}/tuf/timestamp.json. */
  peerVersion?: (url: string) => Promise<number>;
}

export interface RestoreGuardResult {
  /** The timestamp version the database served before, and after any jump. */
  from: number;
  to: number;
  /** The highest version learned, and from where. */
  highest: { version: number; source: string } | null;
  /** Published versions whose changes the restored database lacks. */
  missing: number;
}

const MAX_TIMESTAMP_BYTES = 1024 * 1024;

function timestampVersion(bytes: Uint8Array): number {
  const v = (JSON.parse(Buffer.from(bytes).toString('utf8')) as { signed?: { version?: unknown } })?.signed?.version;
  if (!Number.isSafeInteger(v) || (v as number) < 1) throw new Error('no timestamp version in it');
  return v as number;
}

async function fetchPeerVersion(url: string): Promise<number> {
  const res = await fetch(`${url.replace(/\/+$/, '')}/tuf/timestamp.json`, { signal: AbortSignal.timeout(5_000), redirect: 'error' });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  const body = new Uint8Array(await res.arrayBuffer());
  if (body.length > MAX_TIMESTAMP_BYTES) throw new Error('timestamp.json is too large');
  return timestampVersion(body);
}

/** The highest timestamp version that the static dir, the peers and the operator know of. */
async function highestPublished(o: RestoreGuardOptions): Promise<{ version: number; source: string } | null> {
  const found: { version: number; source: string }[] = [];
  const log = o.log ?? (() => {});
  if (o.staticDir) {
    const file = join(o.staticDir, 'timestamp.json');
    try {
      if (existsSync(file) && statSync(file).size <= MAX_TIMESTAMP_BYTES) found.push({ version: timestampVersion(readFileSync(file)), source: `static dir ${file}` });
    } catch (e) {
      log({ level: 'warn', msg: 'cannot read the static dir timestamp', file, err: (e as Error).message });
    }
  }
  for (const peer of o.peers ?? []) {
    try {
      found.push({ version: await (o.peerVersion ?? fetchPeerVersion)(peer), source: `peer ${peer}` });
    } catch (e) {
      log({ level: 'warn', msg: 'cannot read a peer timestamp', peer, err: (e as Error).message });
    }
  }
  if (o.minVersion != null) found.push({ version: o.minVersion, source: '--min-version' });
  return found.reduce<{ version: number; source: string } | null>((best, f) => (best && best.version >= f.version ? best : f), null);
}

function unreplayedRevocations(journal: string, stored: Parameters<typeof missingFrom>[1]): { entries: JournalEntry[]; note: string } {
  if (!existsSync(journal)) return { entries: [], note: `there is no revocation journal at ${journal}: re-apply every revocation made after the backup by hand` };
  const entries = missingFrom(readJournal(journal), stored);
  if (entries.length === 0) return { entries, note: `every revocation in the journal ${journal} is in the database` };
  const list = entries.slice(0, 5).map((e) => describeRevocation(e.revocation)).join('; ');
  return { entries, note: `the journal ${journal} holds ${entries.length} revocation(s) that the database lacks (${list}${entries.length > 5 ? '; ...' : ''})` };
}

export async function guardRestore(o: RestoreGuardOptions): Promise<RestoreGuardResult | null> {
  const store = await openStore({ dataDir: o.dataDir, database: storeDatabase({ dataDir: o.dataDir, database: o.database }) });
  try {
    const current = (await store.latestMetadata('timestamp'))?.version;
    if (current === undefined) return null; // not published yet: nothing to compare
    const raw = await store.getMeta(RESTORED_FROM_META);
    const marker: RestoredFrom | null = raw ? JSON.parse(raw) : null;
    const pending = marker && !marker.accepted ? marker : null;
    const content = pending ? pending.versions.timestamp : current;
    const highest = await highestPublished(o);
    if (!pending && (!highest || highest.version <= current)) return null; // the usual start
    await attachLog(o.dataDir, store); // issue 23: a version jump is logged
    const missing = highest ? Math.max(0, highest.version - content) : 0;
    if ((missing > 0 || !highest) && !o.acceptLoss) {
      const { note } = unreplayedRevocations(o.journal, await store.listRevocations());
      const since = pending ? pending.createdAt : 'BACKUP';
      const what = pending ? `the trust of the backup of ${pending.createdAt} (timestamp version ${content})` : `timestamp version ${content}`;
      const lead = highest
        ? `the database holds ${what}, but version ${highest.version} was published (${highest.source}): ${missing} version(s) are missing. Their changes are lost, and serving this trust would undo any revocation made in them.`
        : `the database holds ${what}, restored on ${pending!.restoredAt}, and nothing tells which versions were published after it: give --static-dir, --peer URL or --min-version N (the highest timestamp version clients may have seen).`;
      throw new KeyshareError(
        Codes.RESTORE_BEHIND,
        `${lead} ${note}. Re-apply them with \`keyshare revocations replay --since ${since} --journal FILE\` (the journal of the lost data dir), ` +
          'then start with --accept-restore-loss to serve the restored trust above every published version (docs/DEPLOYMENT.md, "Restoring").',
        { details: { content, highest: highest?.version ?? null, missing } },
      );
    }
    const now = (o.clock ?? (() => new Date()))();
    let to = current;
    if (highest && highest.version >= current) to = await jumpAbove(store, o.dataDir, highest.version, current, now);
    if (pending) await store.setMeta(RESTORED_FROM_META, JSON.stringify({ ...pending, accepted: { at: now.toISOString(), highest: highest?.version ?? null, missing } }));
    await new AuditLog(store, () => now).append({
      actor: null,
      action: 'restore.accept',
      outcome: 'ok',
      details: { content, highest: highest?.version ?? null, source: highest?.source ?? null, missing, from: current, to, confirmed: Boolean(o.acceptLoss) },
    });
    return { from: current, to, highest, missing };
  } finally {
    await store.close();
  }
}

/** Re-signs every role so that the timestamp is above `highest` (the content stays). */
async function jumpAbove(store: Store, dataDir: string, highest: number, current: number, now: Date): Promise<number> {
  const root = parseMetadata(MetadataKind.Root, (await store.latestMetadata('root'))!.bytes).signed;
  const expiry: ExpiryConfig = { ...DEFAULT_EXPIRY, ...JSON.parse((await store.getMeta('expiry')) ?? '{}') };
  const r = await jumpVersions({ store, signers: loadSignersForRoot(dataDir, root), expiry, jump: highest - current + 1, now });
  return r.to;
}

export interface ReplayResult {
  journal: string;
  since: string;
  /** Journal entries at or after `since`. */
  considered: number;
  /** Those the database lacked, now stored again. */
  replayed: JournalEntry[];
}

/**
 * `keyshare revocations replay --since BACKUP`: stores again every revocation of the journal
 * made at or after `since` that the database lacks, with its original time and reason, in one
 * transaction with an audit entry each. Idempotent.
 */
export async function replayRevocations(o: { dataDir: string; database?: string | null; journal: string; since: Date; dryRun?: boolean; target?: string; clock?: () => Date }): Promise<ReplayResult> {
  const entries = readJournal(o.journal).filter((e) => Date.parse(e.at) >= o.since.getTime());
  const now = (o.clock ?? (() => new Date()))();
  const store = await openStore({ dataDir: o.dataDir, database: storeDatabase({ dataDir: o.dataDir, database: o.database }) });
  try {
    if (!(await store.latestMetadata('root'))) throw new KeyshareError(Codes.NOT_INITIALIZED, `${o.dataDir} holds no keyshare repository`);
    const audit = new AuditLog(store, () => now);
    const replayed: JournalEntry[] = [];
    if (!o.dryRun) {
      await store.transaction(async () => {
        replayed.length = 0;
        for (const e of missingFrom(entries, await store.listRevocations())) {
          if (!(await store.addRevocation(e.revocation))) continue;
          replayed.push(e);
          const r = e.revocation;
          await audit.append({ actor: null, action: 'revocation.add', outcome: 'ok', scope: r.scope, target: r.id ?? r.digest ?? `${r.issuer}/${r.serial}`, details: { replayedFrom: o.journal, journalAt: e.at } });
        }
        const raw = await store.getMeta(RESTORED_FROM_META);
        if (raw) await store.setMeta(RESTORED_FROM_META, JSON.stringify({ ...JSON.parse(raw), replayed: { at: now.toISOString(), since: o.since.toISOString(), count: replayed.length } }));
      });
      // The restored data dir's own journal gets them too, unless it is the one replayed.
      if (o.target && o.target !== o.journal) new RevocationJournal(o.target, () => now).record(replayed.map((e) => e.revocation));
    } else {
      replayed.push(...missingFrom(entries, await store.listRevocations()));
    }
    return { journal: o.journal, since: o.since.toISOString(), considered: entries.length, replayed };
  } finally {
    await store.close();
  }
}

/**
 * When a `pg_dump --format=custom` archive was made, from its header (pg_backup_archiver.c
 * ReadHead: "PGDMP", version bytes, intSize, offSize, format, compression, then the creation
 * time as seven ints: sec, min, hour, mday, mon, year-1900, isdst, in the dumping machine's
 * local time). The time zone is unknown, so the earliest instant it can mean is returned
 * (UTC+14): replaying from a little earlier is harmless, as replay is idempotent.
 */
export function pgDumpCreatedAt(head: Uint8Array): Date | null {
  const b = Buffer.from(head);
  if (b.length < 16 || b.subarray(0, 5).toString('latin1') !== 'PGDMP') return null;
  let at = 5;
  const vmaj = b[at++]!;
  const vmin = b[at++]!;
  const vrev = vmaj > 1 || (vmaj === 1 && vmin > 0) ? b[at++]! : 0;
  const version = (vmaj << 16) | (vmin << 8) | vrev;
  const intSize = b[at++]!;
  if (intSize < 1 || intSize > 8) return null;
  if (version >= 0x010700) at++; // offSize
  at++; // format
  const readInt = (): number => {
    const negative = b[at++] !== 0;
    let v = 0;
    for (let i = 0; i < intSize; i++) v += b[at++]! * 2 ** (8 * i);
    return negative ? -v : v;
  };
  if (version >= 0x010f00) at++; // compression algorithm (1.15+)
  else if (version >= 0x010400) readInt(); // compression level
  if (version < 0x010400) return null;
  const [sec, min, hour, mday, mon, year] = [readInt(), readInt(), readInt(), readInt(), readInt(), readInt()];
  if (at > b.length) return null;
  const utc = Date.UTC(year + 1900, mon, mday, hour, min, sec);
  return Number.isNaN(utc) ? null : new Date(utc - 14 * 3600 * 1000);
}

/**
 * Issue 24: production mode, where serve never initialises a repository implicitly. Returns why
 * it applies (for the message), or null: `--production`, KEYSHARE_PRODUCTION=1, or a listen
 * address other than loopback (the admin API is then reachable from other machines).
 */
export function productionMode(o: { flag: boolean; env?: string; listen: string }): string | null {
  if (o.flag) return '--production';
  if (o.env !== undefined && o.env !== '' && o.env !== '0' && o.env.toLowerCase() !== 'false') return 'KEYSHARE_PRODUCTION';
  const host = /^(?:\[([^\]]+)\]|([^:]+)):\d+$/.exec(o.listen);
  const h = (host?.[1] ?? host?.[2] ?? '').toLowerCase();
  const loopback = h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
  return loopback ? null : `--listen ${o.listen} is not a loopback address`;
}
