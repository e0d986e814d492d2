/**
 * The log key a server's signed TUF targets state (issue 23: `log verify` and `log show` take the
 * key from there, not from the server's /log/key): a TUF refresh from the root pinned out of band,
 * in a throwaway metadata dir, then index.json's `custom.keyshare.logKey` in the verified
 * top-level targets (shared/trust-index.ts logKeyStated).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Updater, type Fetcher } from 'tuf-js';
import { KeyshareError } from '../../shared/errors.js';
import { INDEX_TARGET, logKeyStated } from '../../shared/trust-index.js';
import { readPinnedRoot } from './cache-root.js';
import { FetchCodes, expiredFromUpdater, toFetchError } from './errors.js';

export async function statedLogKey(server: string, root: string, fetcher: Fetcher): Promise<string> {
  const metadataDir = mkdtempSync(join(tmpdir(), 'keyshare-log-key-'));
  try {
    writeFileSync(join(metadataDir, 'root.json'), readPinnedRoot(root));
    const updater = new Updater({ metadataDir, metadataBaseUrl: `${server}/tuf`, targetBaseUrl: `${server}/tuf/targets`, fetcher });
    await updater.refresh().catch((e: unknown) => {
      throw expiredFromUpdater(e, updater, new Date()) ?? toFetchError(e);
    });
    const targets = JSON.parse(readFileSync(join(metadataDir, 'targets.json'), 'utf8')) as { signed: { targets: Record<string, { custom?: unknown }> } };
    const key = logKeyStated(targets.signed.targets[INDEX_TARGET]?.custom);
    if (!key) throw new KeyshareError(FetchCodes.NOT_LOGGED, `the signed targets of ${server} state no log key (a service from before the log, until its next publish): give --log-key`);
    return key;
  } finally {
    rmSync(metadataDir, { recursive: true, force: true });
  }
}
