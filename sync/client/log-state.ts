/**
 * `keyshare fetch` and the transparency log (issue 23): which log key to trust, the checkpoint
 * verified last (kept in the cache), and the HTTP reads under `<server>/log/`.
 *
 *   <cache>/log/key          the log's verifier key: given with --log-key, or learnt on first
 *                            contact and pinned from then on
 *   <cache>/log/checkpoint   the signed checkpoint verified last
 *
 * The check is on when --require-log is given, or when the server announces a log (/log/key),
 * or when this cache has seen one before: a log, once seen, cannot be made to disappear. A new
 * pinned root starts the cache afresh, log state included (cache.ts prepareCache).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Fetcher } from 'tuf-js';
import { DownloadHTTPError } from 'tuf-js/dist/error.js';
import { KeyshareError, SharedCodes as Codes } from '../../shared/errors.js';
import { NoteError, parseVerifierKey, type NoteVerifier } from '../../shared/tlog/note.js';
import { writePrivateFileAtomic } from '../../shared/private-files.js';
import type { CacheLayout } from './cache.js';
import { FetchCodes } from './errors.js';
import { MAX_CHECKPOINT_BYTES, checkLog, type LogCheckResult, type LogGet } from './log-check.js';
import { checkCosignatures, type WitnessPolicy } from './log-witnesses.js';

/** A full tile is 8 KiB; an entry bundle holds 256 entries of a few hundred bytes. TUF metadata (log verify): as fetch-trust.ts caps targets. */
const MAX_TARGET_BYTES = 64 * 1024 * 1024;
const MAX_TILE_BYTES = 1024 * 1024;

export interface LogOptions {
  /** --require-log: refuse a server without a log (NOT_LOGGED). */
  require?: boolean;
  /** --log-key: the log's verifier key (`name+hash+key`), pinned out of band. */
  key?: string;
  /** --witness, --witness-threshold: the checkpoint needs cosignatures by enough of these witnesses (log-witnesses.ts). */
  witnesses?: WitnessPolicy | null;
}

const paths = (layout: CacheLayout) => ({ dir: join(layout.dir, 'log'), key: join(layout.dir, 'log', 'key'), checkpoint: join(layout.dir, 'log', 'checkpoint') });

function verifier(text: string, where: string): NoteVerifier & { vkey: string } {
  try {
    return parseVerifierKey(text);
  } catch (e) {
    if (e instanceof NoteError) throw new KeyshareError(Codes.CONFIG_INVALID, `${where}: ${e.message}`);
    throw e;
  }
}

/** A GET under `<server>/log/` (or another folder): null on 404, the bytes on success. */
export function logGetter(server: string, fetcher: Fetcher, under = 'log/'): LogGet {
  return async (path) => {
    try {
      return await fetcher.downloadBytes(`${server}/${under}${path}`, under !== 'log/' ? MAX_TARGET_BYTES : path === 'checkpoint' || path === 'key' ? MAX_CHECKPOINT_BYTES : MAX_TILE_BYTES);
    } catch (e) {
      if (e instanceof DownloadHTTPError && e.statusCode === 404) return null;
      throw e;
    }
  };
}

export interface LogVerdict extends LogCheckResult {
  vkey: string;
  /** The witnesses whose cosignatures were verified (with --witness). */
  witnessedBy?: string[];
}

/**
 * Checks the log for the timestamp just accepted (null when no log is in play). Nothing is
 * written: the caller keeps the verdict (keepLogState) only once the whole fetch is accepted.
 */
export async function verifyLog(layout: CacheLayout, get: LogGet, timestamp: Uint8Array, options: LogOptions): Promise<LogVerdict | null> {
  const p = paths(layout);
  const pinned = existsSync(p.key) ? verifier(readFileSync(p.key, 'utf8'), p.key) : null;
  const given = options.key ? verifier(options.key, '--log-key') : null;
  if (given && pinned && given.vkey !== pinned.vkey) {
    throw new KeyshareError(FetchCodes.LOG_INCONSISTENT, `--log-key names ${given.name}, and this cache verified the log ${pinned.name} before: use another --cache for another log`);
  }
  let key = given ?? pinned;
  if (!key) {
    const announced = await get('key');
    if (!announced) {
      if (options.require || options.witnesses) throw new KeyshareError(FetchCodes.NOT_LOGGED, `the server announces no transparency log (${options.witnesses ? '--witness' : '--require-log'})`);
      return null;
    }
    key = verifier(Buffer.from(announced).toString('utf8'), 'the log key the server announces');
  }
  const previous = pinned && existsSync(p.checkpoint) ? readFileSync(p.checkpoint, 'utf8') : null;
  // The same timestamp as last time: its inclusion in the kept checkpoint was verified then (one download when nothing changed),
  // and so were its cosignatures, if they satisfy the witness policy given now.
  if (previous && sameAsCached(layout, timestamp) && (!options.witnesses || cosignedEnough(previous, key, options.witnesses))) return null;
  const verdict = await checkLog({ get, key, timestamp, previous });
  const witnessedBy = options.witnesses ? checkCosignatures(verdict.checkpoint, key, options.witnesses) : undefined;
  return { ...verdict, vkey: key.vkey, ...(witnessedBy ? { witnessedBy } : {}) };
}

function cosignedEnough(note: string, key: NoteVerifier, policy: WitnessPolicy): boolean {
  try {
    checkCosignatures(note, key, policy);
    return true;
  } catch {
    return false;
  }
}

function sameAsCached(layout: CacheLayout, timestamp: Uint8Array): boolean {
  const cached = join(layout.metadataDir, 'timestamp.json');
  return existsSync(cached) && readFileSync(cached).equals(timestamp);
}

/** Keeps the verified key and checkpoint in the cache (after the fetch was accepted). */
export function keepLogState(layout: CacheLayout, verdict: LogVerdict): void {
  const p = paths(layout);
  mkdirSync(p.dir, { recursive: true, mode: 0o700 });
  writePrivateFileAtomic(p.key, verdict.vkey + '\n');
  writePrivateFileAtomic(p.checkpoint, verdict.checkpoint);
}
