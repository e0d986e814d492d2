/**
 * The log's signing key (issue 23): an Ed25519 signed-note key of its own, in the data dir as
 * `keys/log.key` (Go note's `PRIVATE+KEY+name+hash+key` text, mode 0600), beside the online TUF
 * keys. Its name, also the checkpoints' origin line, is `keyshare/<16 hex of SHA-256 of root v1>`:
 * stable for the repository's life and different for every repository.
 */
import { sha256Hex } from '../../shared/hash.js';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NoteError, NoteSigner } from '../../shared/tlog/note.js';
import { KeyshareError, Codes } from '../errors.js';
import { keysDir, writeNewKey } from '../repo/keys.js';
import type { Store } from '../store/index.js';

export const logKeyPath = (dataDir: string) => join(keysDir(dataDir), 'log.key');

export const logOrigin = (rootV1: Uint8Array) => `keyshare/${sha256Hex(rootV1).slice(0, 16)}`;

/**
 * The log key of a data dir; made on first use while the log is empty (a new repository, or one
 * from before issue 23). A log that has entries and no key here is a replica without a copy of
 * keys/log.key: signing with a new key would fork the log, so it is refused.
 */
export async function loadLogSigner(dataDir: string, store: Store): Promise<NoteSigner> {
  const path = logKeyPath(dataDir);
  if (existsSync(path)) {
    try {
      return NoteSigner.fromPrivateKey(readFileSync(path, 'utf8'));
    } catch (e) {
      if (e instanceof NoteError) throw new KeyshareError(Codes.CONFIG_INVALID, `${path}: ${e.message}`, { cause: e });
      throw e;
    }
  }
  if ((await store.logSize()) > 0) {
    throw new KeyshareError(Codes.ONLINE_KEY_MISSING, `the transparency log has entries and ${path} is missing: copy keys/log.key from the data dir that signed them (docs/DEPLOYMENT.md)`);
  }
  const root = await store.getMetadata('root', 1);
  if (!root) throw new KeyshareError(Codes.NOT_INITIALIZED, 'the repository has no root v1');
  const signer = NoteSigner.generate(logOrigin(root.bytes));
  writeNewKey(path, signer.privateKey() + '\n');
  return signer;
}
