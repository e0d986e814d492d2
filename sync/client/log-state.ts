/**
 * `keyshare fetch` and the transparency log (issue 23): which log key to trust, the checkpoint
 * verified last (kept in the cache), and the HTTP reads under `<server>/log/`.
 *
 *   <cache>/log/key          the log's verifier key: given with --log-key; else the key the
 *                            verified top-level targets state (index.json's `custom`, signed
 *                            through the root chain from the pinned root); else, from a service
 *                            that states none, learnt on first contact. Pinned from then on; a
 *                            new key stated in the targets replaces it (rotation), and the
 *                            checkpoint kept is checked with the key that signed it
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
import { ProofFormatError, parseLogProof, type LogProof } from '../../shared/tlog/proof.js';
import { writePrivateFileAtomic } from '../../shared/private-files.js';
import type { CacheLayout } from './cache.js';
import { FetchCodes } from './errors.js';
import { MAX_CHECKPOINT_BYTES, checkLog, openCheckpoint, type LogCheckResult, type LogGet } from './log-check.js';
import { checkCosignatures, type WitnessPolicy } from './log-witnesses.js';

/** A full tile is 8 KiB; an entry bundle holds 256 entries of a few hundred bytes. TUF metadata (log verify): as fetch-trust.ts caps targets. */
const MAX_TARGET_BYTES = 64 * 1024 * 1024;
const MAX_TILE_BYTES = 1024 * 1024;

export interface LogOptions {
  /** --require-log: refuse a server without a log (NOT_LOGGED). */
  require?: boolean;
  /** --log-key: the log's verifier key (`name+hash+key`), pinned out of band. */
  key?: string;
  /** The log key the verified top-level targets state (trust-index.ts logKeyStated). */
  stated?: string;
  /** --witness, --witness-threshold: the checkpoint needs cosignatures by enough of these witnesses (log-witnesses.ts). */
  witnesses?: WitnessPolicy | null;
  /** With witnesses: how long to read the checkpoint again while it lacks their cosignatures (default WITNESS_WAIT_MS). */
  witnessWaitMs?: number;
}

/** A witness round trip takes well under this; a publish already waits for it (service Witnessing.collect). */
export const WITNESS_WAIT_MS = 4_000;

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
      return await fetcher.downloadBytes(`${server}/${under}${path}`, under !== 'log/' ? MAX_TARGET_BYTES : ['checkpoint', 'key', 'proof'].includes(path.split('?')[0]!) ? MAX_CHECKPOINT_BYTES : MAX_TILE_BYTES);
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

/** /log/proof, asked for early (prefetchProof), or null once it was not. */
export type EarlyProof = Promise<{ bytes: Uint8Array | null } | { error: unknown }> | null;

/**
 * Issue 17 (bench B5): a fetch into an empty cache will check the log whatever the timestamp
 * is, so /log/proof is asked for beside the TUF refresh (it also carries timestamp.json:
 * proof-fetcher.ts), not after it. A warm cache asks for nothing unless the timestamp changed.
 * Errors wait for verifyLog, which asks again.
 */
export function prefetchProof(layout: CacheLayout, get: LogGet): EarlyProof {
  if (existsSync(join(layout.metadataDir, 'timestamp.json'))) return null;
  return get('proof').then(
    (bytes) => ({ bytes }),
    (error: unknown) => ({ error }),
  );
}

/**
 * Checks the log for the timestamp just accepted (null when no log is in play). Nothing is
 * written: the caller keeps the verdict (keepLogState) only once the whole fetch is accepted.
 */
export async function verifyLog(layout: CacheLayout, get: LogGet, timestamp: Uint8Array, options: LogOptions, early: EarlyProof = null): Promise<LogVerdict | null> {
  const p = paths(layout);
  const pinned = existsSync(p.key) ? verifier(readFileSync(p.key, 'utf8'), p.key) : null;
  const given = options.key ? verifier(options.key, '--log-key') : null;
  if (given && pinned && given.vkey !== pinned.vkey) {
    throw new KeyshareError(FetchCodes.LOG_INCONSISTENT, `--log-key names ${given.name}, and this cache verified the log ${pinned.name} before: use another --cache for another log`);
  }
  const stated = options.stated ? verifier(options.stated, 'the log key the signed targets state') : null;
  // The TUF-authenticated key wins over the pinned one (a rotation), never over --log-key.
  let key = given ?? stated ?? pinned;
  const previousKey = pinned && key && pinned.vkey !== key.vkey ? pinned : undefined;
  const previous = pinned && existsSync(p.checkpoint) ? readFileSync(p.checkpoint, 'utf8') : null;
  // The same timestamp as last time: its inclusion in the kept checkpoint was verified then (one download when nothing changed),
  // and so were its cosignatures, if they satisfy the witness policy given now (a kept checkpoint implies a pinned key).
  if (previous && key && sameAsCached(layout, timestamp) && (!options.witnesses || cosignedEnough(previous, key, options.witnesses))) return null;
  // One request for the checkpoint, the timestamp's inclusion proof and, from the checkpoint kept,
  // the consistency proof (issue 23, bench B12; a server from before /log/proof, or a mirror
  // without it, answers 404: then /log/key, /log/checkpoint and tiles; one that ignores ?from=
  // gives no consistency proof: then it comes from tiles).
  const from = previous && key ? openCheckpoint(previous, previousKey ?? key).size : null;
  const got = early ? await early : null;
  const proof = readProof(got && 'bytes' in got ? got.bytes : await askProof(get, from));
  // On first contact the key in /log/proof is the one /log/key would announce (pinned from then on).
  if (!key && proof) key = verifier(proof.key, 'the log key the server announces');
  if (!key) {
    const announced = await get('key');
    if (!announced) {
      if (options.require || options.witnesses) throw new KeyshareError(FetchCodes.NOT_LOGGED, `the server announces no transparency log (${options.witnesses ? '--witness' : '--require-log'})`);
      return null;
    }
    key = verifier(Buffer.from(announced).toString('utf8'), 'the log key the server announces');
  }
  const logKey = key;
  const check = (served: LogProof | null) => checkLog({ get, key: logKey, timestamp, previous, proof: served, ...(previousKey ? { previousKey } : {}) });
  let verdict = await check(proof);
  if (!options.witnesses) return { ...verdict, vkey: logKey.vkey };
  // The witness freshness gap: a checkpoint newer than the one the publish waited for (service
  // Witnessing.collect) may not be cosigned yet. Read it again (the proof too, when the server
  // has one), each time fully checked, for a bounded while.
  const deadline = Date.now() + (options.witnessWaitMs ?? WITNESS_WAIT_MS);
  for (let delay = 250; ; delay *= 2) {
    try {
      return { ...verdict, vkey: logKey.vkey, witnessedBy: checkCosignatures(verdict.checkpoint, logKey, options.witnesses) };
    } catch (e) {
      if (!(e instanceof KeyshareError && e.code === FetchCodes.NOT_WITNESSED) || Date.now() + delay > deadline) throw e;
    }
    await new Promise((r) => setTimeout(r, delay));
    verdict = await check(proof ? readProof(await askProof(get, from)) : null);
  }
}

/**
 * /log/proof, with ?from= the size of the checkpoint kept (issue 23). A log now shorter than
 * that (a restore, a rollback) answers 400 to it: asked again without, so that checkLog names
 * the rollback (LOG_INCONSISTENT) rather than the fetch failing on a download error.
 */
async function askProof(get: LogGet, from: number | null): Promise<Uint8Array | null> {
  if (from === null) return get('proof');
  try {
    return await get(`proof?from=${from}`);
  } catch (e) {
    if (e instanceof DownloadHTTPError && e.statusCode === 400) return get('proof');
    throw e;
  }
}

function readProof(bytes: Uint8Array | null): LogProof | null {
  if (!bytes) return null;
  try {
    return parseLogProof(bytes);
  } catch (e) {
    if (e instanceof ProofFormatError) throw new KeyshareError(FetchCodes.NOT_LOGGED, `the server's /log/proof is malformed: ${e.message}`);
    throw e;
  }
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
