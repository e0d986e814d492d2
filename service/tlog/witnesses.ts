/**
 * The witnesses of this service's transparency log (issue 23; `keyshare witness add|ls|rm`).
 * After each new checkpoint the service sends it to every witness (C2SP tlog-witness
 * `add-checkpoint`, with a consistency proof from the size the witness cosigned last), keeps
 * each witness's cosignature (C2SP tlog-cosignature), and `/log/checkpoint` serves the
 * checkpoint with the cosignatures made on it appended.
 *
 * Witnesses and their state are one store meta value (`log.witnesses`, JSON), written by an
 * atomic compare-and-swap (store swapMeta), so that replicas on one database lose no update: the
 * list is short, a read is one row (every /log/checkpoint request), and both dialects hold it.
 */
import { sha256Hex } from '../../shared/hash.js';
import { parseCosignerKey } from '../../shared/tlog/cosignature.js';
import { NoteError, isKeyName, openNote } from '../../shared/tlog/note.js';
import { httpRequest } from '../../shared/http.js';
import { KeyshareError, Codes } from '../errors.js';
import { guardFor, type AddressPolicy } from '../net/outbound.js';
import type { Store } from '../store/index.js';
import type { TransparencyLog } from './log.js';

export const WITNESSES_META = 'log.witnesses';
/** How long one add-checkpoint may take. */
const REQUEST_TIMEOUT_MS = 10_000;
/** A witness answers a few signature lines. */
const MAX_ANSWER_BYTES = 16 * 1024;
/** Witnesses a log sends its checkpoints to (each costs a request per publish). */
export const MAX_WITNESSES = 16;
/** Without a new checkpoint, witnesses that failed are tried again this often. */
const RETRY_MS = 30_000;
/** How long a publish waits for its checkpoint's cosignatures before serving the version anyway (collect). */
export const COSIGN_WAIT_MS = 3_000;

export interface WitnessRecord {
  name: string;
  /** The witness's submission prefix: `<url>/add-checkpoint`. */
  url: string;
  /** Its cosigner key, `name+hash+base64(0x04||pub)`. */
  vkey: string;
  addedAt: string;
  /** The checkpoint size this witness cosigned last (0: none), as the next request's old size. */
  size: number;
  /** Its cosignature line on the checkpoint whose text hashes to `checkpoint`. */
  cosignature: string | null;
  checkpoint: string | null;
  lastError: string | null;
  lastAttemptAt: string | null;
}

const textOf = (note: string) => note.slice(0, note.lastIndexOf('\n\n') + 1);

export class WitnessConfig {
  constructor(private readonly store: Pick<Store, 'getMeta' | 'swapMeta'>) {}

  async list(): Promise<WitnessRecord[]> {
    const text = await this.store.getMeta(WITNESSES_META);
    return text ? (JSON.parse(text) as WitnessRecord[]) : [];
  }

  /** Adds a witness (CONFLICT when the name is taken); the next round sends it the checkpoint. */
  add(input: { name: string; url: string; vkey: string }, now = new Date()): Promise<WitnessRecord> {
    if (!isKeyName(input.name) || input.name.length > 100) throw new KeyshareError(Codes.BAD_REQUEST, `witness name ${JSON.stringify(input.name)}: 1 to 100 characters, no spaces or +`);
    let url: URL;
    try {
      url = new URL(input.url);
    } catch {
      throw new KeyshareError(Codes.BAD_REQUEST, `witness URL ${JSON.stringify(input.url)} is not a URL`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new KeyshareError(Codes.BAD_REQUEST, 'a witness URL is http(s)://');
    let vkey: string;
    try {
      vkey = parseCosignerKey(input.vkey).vkey;
    } catch (e) {
      throw new KeyshareError(Codes.BAD_PUBLIC_KEY, `the witness key: ${(e as Error).message} (a cosignature/v1 verifier key, as a witness serves at /witness/key)`);
    }
    return this.update((all) => {
      if (all.some((w) => w.name === input.name)) throw new KeyshareError(Codes.CONFLICT, `a witness named ${input.name} exists; remove it first`);
      if (all.length >= MAX_WITNESSES) throw new KeyshareError(Codes.BAD_REQUEST, `at most ${MAX_WITNESSES} witnesses`);
      const record: WitnessRecord = { name: input.name, url: url.href.replace(/\/+$/, ''), vkey, addedAt: now.toISOString(), size: 0, cosignature: null, checkpoint: null, lastError: null, lastAttemptAt: null };
      return { all: [...all, record], result: record };
    });
  }

  remove(name: string): Promise<WitnessRecord> {
    return this.update((all) => {
      const found = all.find((w) => w.name === name);
      if (!found) throw new KeyshareError(Codes.NOT_FOUND, `no witness named ${name}`);
      return { all: all.filter((w) => w !== found), result: found };
    });
  }

  /** Records one witness's outcome (nothing when it was removed meanwhile). */
  record(name: string, change: Partial<WitnessRecord>): Promise<void> {
    return this.update((all) => ({ all: all.map((w) => (w.name === name ? { ...w, ...change } : w)), result: undefined }));
  }

  /** What a witness record names the checkpoint it cosigned by. */
  static checkpointId(note: string): string {
    return sha256Hex(Buffer.from(textOf(note)));
  }

  /** The signed checkpoint with the cosignatures made on it appended. */
  async cosigned(note: string): Promise<string> {
    const sha = WitnessConfig.checkpointId(note);
    const lines = (await this.list()).filter((w) => w.checkpoint === sha && w.cosignature).map((w) => w.cosignature!);
    return note + lines.join('');
  }

  /** Applies `fn` to the list and stores the result, again on a fresh read if another write came between (store swapMeta). */
  private async update<T>(fn: (all: WitnessRecord[]) => { all: WitnessRecord[]; result: T }): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const text = await this.store.getMeta(WITNESSES_META);
      const { all, result } = fn(text ? (JSON.parse(text) as WitnessRecord[]) : []);
      if (await this.store.swapMeta(WITNESSES_META, text, JSON.stringify(all))) return result;
      if (attempt >= 20) throw new KeyshareError(Codes.CONFLICT, 'the witness list kept changing; retry');
    }
  }
}

/** What `/log/checkpoint` serves (and `--static-dir` copies): the newest signed checkpoint with its witnesses' cosignatures; null without one. */
export async function servedCheckpoint(log: TransparencyLog, store: Pick<Store, 'getMeta' | 'swapMeta'>): Promise<string | null> {
  const note = await log.checkpoint();
  return note ? new WitnessConfig(store).cosigned(note) : null;
}

/** Why a witness did not cosign (kept as the witness's lastError, shown by `witness ls`). */
class WitnessRefused extends Error {}

/**
 * Sends the newest checkpoint to each witness that has not cosigned it; one round at a time, and
 * another after it when a new checkpoint came meanwhile. Failures are kept per witness and
 * retried every RETRY_MS.
 */
export class Witnessing {
  private running: Promise<void> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly log: TransparencyLog,
    readonly config: WitnessConfig,
    private readonly options: {
      outbound: AddressPolicy;
      onError?: (name: string, message: string) => void;
      /** A round that could not read the log or the witness list (e.g. the database is down); the next retries. */
      onRoundFailed?: (message: string) => void;
      /** After each round: what /log/checkpoint serves may have changed (the --static-dir copy follows). */
      onRound?: () => void;
    },
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.run(), RETRY_MS);
    this.timer.unref();
    void this.run();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Resolves when the running round (if any) ends. */
  async idle(): Promise<void> {
    await this.running;
  }

  /**
   * A round for the newest checkpoint, awaited at most `waitMs` (the round goes on after that):
   * what a publish awaits before serving its version (Publisher.setBeforeServe), so that the
   * checkpoint clients read with the new timestamp already carries the cosignatures
   * (C2SP tlog-witness: logs collect cosignatures before making a checkpoint available).
   */
  async collect(waitMs = COSIGN_WAIT_MS): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, waitMs);
      timer.unref();
    });
    try {
      await Promise.race([this.run().catch(() => {}), waited]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs a round (or marks one to follow the running one); resolves, never rejects, when the rounds end. */
  run(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          try {
            await this.round();
          } catch (e) {
            // Never a rejection: run() is started from timers and events (void), where one would be
            // unhandled and end the process. The timer's next round retries (RETRY_MS).
            this.options.onRoundFailed?.((e as Error).message);
            break;
          }
          this.options.onRound?.();
        } while (this.again);
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  private async round(): Promise<void> {
    // Every publish runs a round before its version is served: without witnesses it reads nothing more (issue 25, B10).
    const witnesses = await this.config.list();
    if (witnesses.length === 0) return;
    const note = await this.log.checkpoint();
    if (!note) return;
    const sha = WitnessConfig.checkpointId(note);
    const pending = witnesses.filter((w) => w.checkpoint !== sha);
    await Promise.all(pending.map((w) => this.submit(w, note, sha)));
  }

  private async submit(w: WitnessRecord, note: string, sha: string): Promise<void> {
    const attempt = new Date().toISOString();
    try {
      const { line, size } = await this.cosignature(w, note);
      await this.config.record(w.name, { size, cosignature: line, checkpoint: sha, lastError: null, lastAttemptAt: attempt });
    } catch (e) {
      const message = e instanceof WitnessRefused || e instanceof KeyshareError ? e.message : `no answer: ${(e as Error).message}`;
      this.options.onError?.(w.name, message);
      await this.config.record(w.name, { lastError: message, lastAttemptAt: attempt });
    }
  }

  /** add-checkpoint from the witness's last size; on 409, once more from the size the witness names. */
  private async cosignature(w: WitnessRecord, note: string): Promise<{ line: string; size: number }> {
    const head = (await this.log.head())!;
    let old = Math.min(w.size, head.size);
    for (let attempt = 0; ; attempt++) {
      const proof = old > 0 && old < head.size ? await this.log.consistencyProof(old, head.size) : [];
      const body = `old ${old}\n${proof.map((h) => Buffer.from(h).toString('base64') + '\n').join('')}\n${note}`;
      const res = await httpRequest(`${w.url}/add-checkpoint`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain; charset=utf-8' },
        body,
        timeoutMs: REQUEST_TIMEOUT_MS,
        maxBytes: MAX_ANSWER_BYTES,
        guard: guardFor(this.options.outbound),
      });
      const text = res.body.toString('utf8');
      if (res.status === 409 && attempt === 0 && /^(0|[1-9]\d{0,15})\n$/.test(text)) {
        const theirs = Number(text.trim());
        // A witness that cosigned more than this log holds saw another history: a split view, or this log rolled back.
        if (theirs > head.size) throw new WitnessRefused(`the witness cosigned ${theirs} entries of this log, which has ${head.size} (the log was rolled back, or showed it another history)`);
        old = theirs;
        continue;
      }
      if (res.status !== 200) throw new WitnessRefused(`HTTP ${res.status}: ${text.trim().slice(0, 300)}`);
      return { line: cosignatureFrom(w, note, text), size: head.size };
    }
  }
}

/** The witness's valid cosignature among the answer's signature lines (tlog-witness: others are ignored). */
function cosignatureFrom(w: WitnessRecord, note: string, answer: string): string {
  const verifier = parseCosignerKey(w.vkey);
  const lines = answer.split('\n').filter((l) => l !== '');
  for (const line of lines) {
    try {
      const { verified } = openNote(`${textOf(note)}\n${line}\n`, [verifier]);
      if (verified.length > 0) return line + '\n';
    } catch (e) {
      if (!(e instanceof NoteError)) throw e;
    }
  }
  throw new WitnessRefused('the answer holds no valid cosignature by the witness key');
}
