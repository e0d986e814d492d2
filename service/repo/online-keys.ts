/**
 * Online keys across a rotation. `key rotate` writes the new key next to the current one as
 * `keys/{role}.next.pem`; the publisher keeps signing with the key that the *published* root
 * names until root N+1 lands, and then with the new one. Choosing the signer by the root's
 * key IDs (not by file name) keeps a crash between "root N+1 committed" and "key file
 * renamed" harmless.
 */
import { existsSync, readFileSync, renameSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Root } from '@tufjs/models';
import { FileSigner, generateSigningKeyPem, type Signer } from '../crypto/signer.js';
import { KeyshareError, Codes } from '../errors.js';
import { ONLINE_ROLES, keysDir, writeNewKey, type OnlineRole, type OnlineSigners } from './keys.js';

export const currentKeyPath = (dataDir: string, role: OnlineRole) => join(keysDir(dataDir), `${role}.pem`);
export const nextKeyPath = (dataDir: string, role: OnlineRole) => join(keysDir(dataDir), `${role}.next.pem`);

export function isOnlineRole(role: string): role is OnlineRole {
  return (ONLINE_ROLES as string[]).includes(role);
}

/** Candidate signers for a role: the current key and a staged next key, when present. */
function candidates(dataDir: string, role: OnlineRole): Signer[] {
  const out: Signer[] = [];
  for (const path of [currentKeyPath(dataDir, role), nextKeyPath(dataDir, role)]) {
    if (existsSync(path)) out.push(new FileSigner(readFileSync(path, 'utf8')));
  }
  return out;
}

/** The online signers that `root` names, found among the key files (current or next). */
export function loadSignersForRoot(dataDir: string, root: Root): OnlineSigners {
  const pick = (role: OnlineRole): Signer => {
    const wanted = new Set(root.roles[role]?.keyIDs ?? []);
    const found = candidates(dataDir, role).find((s) => wanted.has(s.keyid));
    if (!found) {
      throw new KeyshareError(
        Codes.NOT_INITIALIZED,
        `root v${root.version} names ${[...wanted].join(', ')} for the ${role} role, and no key file in ${keysDir(dataDir)} holds it`,
      );
    }
    return found;
  };
  return { targets: pick('targets'), snapshot: pick('snapshot'), timestamp: pick('timestamp') };
}

/** Generates the next key of an online role (replacing a stale, unpublished one). */
export function stageNextKey(dataDir: string, role: OnlineRole): Signer {
  const path = nextKeyPath(dataDir, role);
  if (existsSync(path)) unlinkSync(path);
  const pem = generateSigningKeyPem();
  writeNewKey(path, pem);
  return new FileSigner(pem);
}

/** Removes staged next keys (the proposal that named them was discarded). */
export function discardNextKeys(dataDir: string, roles: OnlineRole[] = ONLINE_ROLES): void {
  for (const role of roles) {
    const path = nextKeyPath(dataDir, role);
    if (existsSync(path)) unlinkSync(path);
  }
}

/**
 * After root N+1 is published: a next key that root N+1 names becomes the current key. The
 * rename replaces the retired key file atomically; the retired key is of no further use.
 */
export function promoteNextKeys(dataDir: string, root: Root): OnlineRole[] {
  const promoted: OnlineRole[] = [];
  for (const role of ONLINE_ROLES) {
    const path = nextKeyPath(dataDir, role);
    if (!existsSync(path)) continue;
    const s = new FileSigner(readFileSync(path, 'utf8'));
    if ((root.roles[role]?.keyIDs ?? []).includes(s.keyid)) {
      renameSync(path, currentKeyPath(dataDir, role));
      promoted.push(role);
    }
  }
  return promoted;
}
