/**
 * `keyshare key rotate log` (issue 23): a new log key, for the same log (same origin name, same
 * tree). The new key is written to `keys/log.key` (the old one is gone from disk), the newest
 * checkpoint is signed again with both keys, and a publish states the new key in the signed
 * top-level targets (index.json's `custom.keyshare.logKey`); clients take it from there (no trust
 * on first use) and check the checkpoint they kept with the key that signed it. Once that
 * publish is served, the old key stops signing.
 */
import { writePrivateFileAtomic } from '../../shared/private-files.js';
import { NoteSigner } from '../../shared/tlog/note.js';
import { KeyshareError, Codes } from '../errors.js';
import { MetadataKind } from '@tufjs/models';
import type { Publisher } from '../repo/publisher.js';
import { INDEX_TARGET } from '../repo/layout.js';
import { parseMetadata } from '../repo/tuf.js';
import { logKeyStated } from '../domain/trust-index.js';
import { logKeyPath } from './key.js';
import type { TransparencyLog } from './log.js';

export interface LogKeyRotation {
  /** The old and new verifier keys (`name+hash+key`). */
  previous: string;
  key: string;
  /** The timestamp version whose targets state the new key. */
  timestampVersion: number;
}

export async function rotateLogKey(input: { dataDir: string; log?: TransparencyLog; publisher: Publisher }): Promise<LogKeyRotation> {
  const { log, publisher } = input;
  if (!log) throw new KeyshareError(Codes.NOT_FOUND, 'this service has no transparency log');
  // The key must reach the signed targets at once: only the replica that publishes rotates.
  if (!publisher.leads()) throw new KeyshareError(Codes.NOT_PUBLISHER, 'this replica does not publish: rotate the log key on the one that holds the publisher lease');
  const previous = log.verifierKey();
  const next = NoteSigner.generate(log.origin);
  // The file first: a crash from here on leaves a service that signs with the new key and states it at its next publish.
  writePrivateFileAtomic(logKeyPath(input.dataDir), next.privateKey() + '\n');
  await log.rotate(next);
  try {
    publisher.setLogKey(next.verifierKey());
    await publisher.notify();
    await publisher.flush();
  } finally {
    log.endRotation();
  }
  const targets = parseMetadata(MetadataKind.Targets, publisher.latestMetadata('targets')!.bytes).signed;
  if (logKeyStated(targets.targets[INDEX_TARGET]?.custom) !== next.verifierKey()) {
    throw new KeyshareError(Codes.INTERNAL, 'the log key is rotated, and the publish that states it failed (see the service log); the next publish states it');
  }
  const timestampVersion = publisher.latestMetadata('timestamp')!.version;
  return { previous, key: next.verifierKey(), timestampVersion };
}
