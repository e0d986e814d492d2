/**
 * `keyshare serve --witness-for LOG_KEY_FILE` (issue 23): this service witnesses other logs
 * (C2SP tlog-witness). For each log it knows (its verifier key, by origin) it keeps the size and
 * root of the last checkpoint it cosigned, in the store (meta `witness.log.<origin>`), and
 * cosigns (C2SP tlog-cosignature, cosignature/v1) only a checkpoint signed by the log's key that a
 * consistency proof links to that state (checked and recorded with one atomic store write): a log that shows a checkpoint inconsistent with one
 * this witness cosigned (a split view, a rollback) gets no cosignature, ever.
 *
 * The witness key is `keys/witness.key` in the data dir (`PRIVATE+KEY+name+hash+base64(0x04||seed)`,
 * mode 0600), made on first use; its verifier key is served at `/witness/key`.
 */
import { sha256Hex } from '../../shared/hash.js';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCheckpoint, type Checkpoint } from '../../shared/tlog/checkpoint.js';
import { Cosigner } from '../../shared/tlog/cosignature.js';
import { HASH_SIZE, verifyConsistency, type Hash } from '../../shared/tlog/merkle.js';
import { NoteError, openNote, parseVerifierKey, type NoteVerifier } from '../../shared/tlog/note.js';
import { KeyshareError, Codes } from '../errors.js';
import { keysDir, writeNewKey } from '../repo/keys.js';
import type { Store } from '../store/index.js';

export const witnessKeyPath = (dataDir: string) => join(keysDir(dataDir), 'witness.key');
/** tlog-witness: a client MUST NOT send more than 63 consistency proof lines. */
const MAX_PROOF_LINES = 63;
/** An add-checkpoint body: a checkpoint, its signatures and a proof are a few kilobytes. */
export const MAX_ADD_CHECKPOINT_BYTES = 64 * 1024;

/** The witness's answer: an HTTP status and a text body (tlog-witness "add-checkpoint"). */
export interface WitnessAnswer {
  status: 200 | 400 | 403 | 404 | 409 | 422;
  body: string;
  contentType: string;
}

interface WitnessedState {
  size: number;
  /** base64 root hash. */
  root: string;
}

const stateKey = (origin: string) => `witness.log.${origin}`;
const TEXT = 'text/plain; charset=utf-8';
const answer = (status: WitnessAnswer['status'], body: string, contentType = TEXT): WitnessAnswer => ({ status, body: body.endsWith('\n') ? body : body + '\n', contentType });

/** The witness key of a data dir, made on first use (named after its public key unless `name` is given). */
export function loadWitnessKey(dataDir: string, name?: string): Cosigner {
  const path = witnessKeyPath(dataDir);
  if (existsSync(path)) {
    try {
      const cosigner = Cosigner.fromPrivateKey(readFileSync(path, 'utf8'));
      if (name && cosigner.name !== name) throw new NoteError(`the witness key is named ${cosigner.name}, not ${name} (a witness's name is fixed with its key)`);
      return cosigner;
    } catch (e) {
      if (e instanceof NoteError) throw new KeyshareError(Codes.CONFIG_INVALID, `${path}: ${e.message}`, { cause: e });
      throw e;
    }
  }
  const cosigner = Cosigner.generate(name ?? ((pub) => `keyshare-witness/${sha256Hex(pub).slice(0, 16)}`));
  writeNewKey(path, cosigner.privateKey() + '\n');
  return cosigner;
}

/** The log verifier keys of `--witness-for` files (one key a file, the text of a log's /log/key). */
export function readLogKeys(files: string[]): NoteVerifier[] {
  return files.map((file) => {
    try {
      return parseVerifierKey(readFileSync(file, 'utf8'));
    } catch (e) {
      if (e instanceof NoteError || (e as NodeJS.ErrnoException).code === 'ENOENT') throw new KeyshareError(Codes.CONFIG_INVALID, `--witness-for ${file}: ${(e as Error).message}`, { cause: e });
      throw e;
    }
  });
}

export class Witness {
  private readonly logs = new Map<string, NoteVerifier>();

  constructor(
    private readonly store: Store,
    readonly cosigner: Cosigner,
    logKeys: NoteVerifier[],
    private readonly now: () => number = () => Math.floor(Date.now() / 1000),
  ) {
    for (const key of logKeys) this.logs.set(key.name, key);
  }

  /** The origins this witness cosigns for. */
  get origins(): string[] {
    return [...this.logs.keys()];
  }

  /** The last checkpoint size and root this witness cosigned for `origin` (size 0: none yet). */
  async state(origin: string): Promise<WitnessedState> {
    const text = await this.store.getMeta(stateKey(origin));
    return text ? (JSON.parse(text) as WitnessedState) : { size: 0, root: '' };
  }

  /** tlog-witness add-checkpoint: verifies, updates the state and cosigns, or says why not. */
  async addCheckpoint(body: string): Promise<WitnessAnswer> {
    const request = parseRequest(body);
    if (typeof request === 'string') return answer(400, request);
    const { old, proof, note } = request;
    let cp: Checkpoint;
    try {
      cp = parseCheckpoint(note.slice(0, note.lastIndexOf('\n\n') + 1));
    } catch (e) {
      return answer(400, `malformed checkpoint: ${(e as Error).message}`);
    }
    const key = this.logs.get(cp.origin);
    if (!key) return answer(404, `this witness does not witness the log ${cp.origin}`);
    try {
      openNote(note, [key]);
    } catch (e) {
      return answer(403, `the checkpoint is not signed by the key of ${cp.origin}: ${(e as Error).message}`);
    }
    if (old > cp.size) return answer(400, `old size ${old} is larger than the checkpoint size ${cp.size}`);
    if (old === 0 && proof.length > 0) return answer(400, 'the consistency proof must be empty from size 0');
    const text = note.slice(0, note.lastIndexOf('\n\n') + 1);
    const stored = await this.store.getMeta(stateKey(cp.origin));
    const state: WitnessedState = stored ? (JSON.parse(stored) as WitnessedState) : { size: 0, root: '' };
    const conflict = (size: number) => answer(409, `${size}\n`, 'text/x.tlog.size');
    if (old !== state.size) return conflict(state.size);
    const root = Buffer.from(cp.root).toString('base64');
    if (old === cp.size) {
      if (old > 0 && root !== state.root) return conflict(state.size);
    } else if (old > 0) {
      try {
        verifyConsistency(old, cp.size, proof, new Uint8Array(Buffer.from(state.root, 'base64')), cp.root);
      } catch (e) {
        return answer(422, `the checkpoint of ${cp.size} entries is not consistent with the one of ${old} entries this witness cosigned: ${(e as Error).message}`);
      }
    }
    // tlog-witness: the check and the new state are atomic, or two requests could roll the state back.
    if (!(await this.store.swapMeta(stateKey(cp.origin), stored, JSON.stringify({ size: cp.size, root } satisfies WitnessedState)))) {
      return conflict((await this.state(cp.origin)).size);
    }
    return answer(200, this.cosigner.cosign(text, this.now()));
  }
}

/** `old N\n` [proof lines] `\n` checkpoint note; a string says why it is malformed. */
function parseRequest(body: string): { old: number; proof: Hash[]; note: string } | string {
  const end = body.indexOf('\n\n');
  if (end < 0) return 'malformed request: no empty line before the checkpoint';
  const [oldLine, ...proofLines] = body.slice(0, end).split('\n');
  const m = /^old (0|[1-9]\d{0,15})$/.exec(oldLine!);
  if (!m || !Number.isSafeInteger(Number(m[1]))) return 'malformed request: the first line is "old <size>"';
  if (proofLines.length > MAX_PROOF_LINES) return `malformed request: more than ${MAX_PROOF_LINES} consistency proof lines`;
  const proof: Hash[] = [];
  for (const line of proofLines) {
    const hash = Buffer.from(line, 'base64');
    if (hash.length !== HASH_SIZE || hash.toString('base64') !== line) return 'malformed request: a consistency proof line is not a base64 hash';
    proof.push(new Uint8Array(hash));
  }
  return { old: Number(m[1]), proof, note: body.slice(end + 2) };
}
