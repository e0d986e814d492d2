/**
 * The OpenPGP worker (sandbox.ts, worker-pool.ts): openpgp.js parses the keys and verifies their
 * self-signatures here, off the event loop (issue 16, finding 1). It loads openpgp.js alone and
 * reports plain facts; pgp.ts makes every decision.
 */
import { parentPort } from 'node:worker_threads';
import * as openpgp from 'openpgp';
import { Codes } from '../errors.js';
import type { PgpFacts } from './sandbox.js';

export type PgpTask = { armored: string } | { binary: Uint8Array };

async function facts(task: PgpTask): Promise<Partial<PgpFacts>> {
  const keys = 'armored' in task ? await openpgp.readKeys({ armoredKeys: task.armored }) : await openpgp.readKeys({ binaryKeys: task.binary });
  const key = keys[0]!;
  if (keys.length !== 1) return { keys: keys.length, private: keys.some((k) => k.isPrivate()) };
  const expiry = await key.getExpirationTime().catch(() => null);
  return {
    keys: 1,
    private: key.isPrivate(),
    version: key.keyPacket.version,
    fingerprint: key.getFingerprint().toLowerCase(),
    expiry: expiry instanceof Date ? expiry.getTime() : expiry === Infinity ? 'never' : null,
    userIds: key.getUserIDs(),
    armored: key.armor(),
    binary: key.write(),
    created: key.getCreationTime().getTime(),
  };
}

const port = parentPort!;
port.on('message', ({ id, task }: { id: number; task: PgpTask }) => {
  facts(task).then(
    (value) => port.postMessage({ id, value }),
    (e: unknown) => port.postMessage({ id, error: { code: Codes.BAD_PGP_KEY, message: `not a valid OpenPGP public key: ${(e as Error)?.message ?? String(e)}` } }),
  );
});
port.postMessage({ ready: true });
