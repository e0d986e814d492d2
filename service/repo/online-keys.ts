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
import { Pkcs11Signer, generatePkcs11Key } from '../crypto/pkcs11.js';
import { KeyshareError, Codes } from '../errors.js';
import { ONLINE_ROLES, keysDir, writeNewKey, type OnlineRole, type OnlineSigners } from './keys.js';

export const currentKeyPath = (dataDir: string, role: OnlineRole) => join(keysDir(dataDir), `${role}.pem`);
export const nextKeyPath = (dataDir: string, role: OnlineRole) => join(keysDir(dataDir), `${role}.next.pem`);
/** A key in a PKCS#11 token: the file holds its RFC 7512 URI (with the module, and maybe the PIN: 0600). */
export const currentTokenKeyPath = (dataDir: string, role: OnlineRole) => join(keysDir(dataDir), `${role}.pkcs11`);
export const nextTokenKeyPath = (dataDir: string, role: OnlineRole) => join(keysDir(dataDir), `${role}.next.pkcs11`);

export function isOnlineRole(role: string): role is OnlineRole {
  return (ONLINE_ROLES as string[]).includes(role);
}

/**
 * The signer for `role` among the current and staged keys whose key ID is one of `wanted`:
 * key files first, then PKCS#11 keys (opened only when no file matched; others are closed).
 */
function findSigner(dataDir: string, role: OnlineRole, wanted: Set<string>): Signer | null {
  for (const path of [currentKeyPath(dataDir, role), nextKeyPath(dataDir, role)]) {
    if (!existsSync(path)) continue;
    const s = new FileSigner(readFileSync(path, 'utf8'));
    if (wanted.has(s.keyid)) return s;
  }
  for (const path of [currentTokenKeyPath(dataDir, role), nextTokenKeyPath(dataDir, role)]) {
    if (!existsSync(path)) continue;
    const s = Pkcs11Signer.open(readFileSync(path, 'utf8').trim());
    if (wanted.has(s.keyid)) return s;
    s.close();
  }
  return null;
}

/** The online signers that `root` names, found among the key files (current or next). */
export function loadSignersForRoot(dataDir: string, root: Root): OnlineSigners {
  const pick = (role: OnlineRole): Signer => {
    const wanted = new Set(root.roles[role]?.keyIDs ?? []);
    const found = findSigner(dataDir, role, wanted);
    if (!found) {
      // Issue 24 row 6: a replica that missed a rotation (the publisher died between `key rotate` and
      // the copy of its keys) says which file it lacks and how to get it.
      throw new KeyshareError(
        Codes.ONLINE_KEY_MISSING,
        `root v${root.version} names ${[...wanted].join(', ')} for the ${role} role, and no key in ${keysDir(dataDir)} (file or PKCS#11) holds it. ` +
          `If the key was rotated on another replica (\`keyshare key rotate\`), copy keys/${role}.next.pem and keys/${role}.pem (or .pkcs11) and root.json from that replica's data dir ` +
          `(or its latest backup) into ${dataDir}, then start again (docs/DEPLOYMENT.md, "Rotating keys on replicas")`,
      );
    }
    return found;
  };
  return { targets: pick('targets'), snapshot: pick('snapshot'), timestamp: pick('timestamp') };
}

/**
 * Generates the next key of an online role (replacing a stale, unpublished one): a key file,
 * or, given a token URI, a key pair generated inside that PKCS#11 token.
 */
export function stageNextKey(dataDir: string, role: OnlineRole, tokenUri?: string): Signer {
  discardNextKeys(dataDir, [role]);
  if (tokenUri) {
    const uri = generatePkcs11Key(tokenUri, `keyshare-${role}-${new Date().toISOString().replace(/[-:.]/g, '')}`);
    writeNewKey(nextTokenKeyPath(dataDir, role), uri + '\n');
    return Pkcs11Signer.open(uri);
  }
  const pem = generateSigningKeyPem();
  writeNewKey(nextKeyPath(dataDir, role), pem);
  return new FileSigner(pem);
}

/** Removes staged next keys (the proposal that named them was discarded). */
export function discardNextKeys(dataDir: string, roles: OnlineRole[] = ONLINE_ROLES): void {
  for (const role of roles) {
    for (const path of [nextKeyPath(dataDir, role), nextTokenKeyPath(dataDir, role)]) if (existsSync(path)) unlinkSync(path);
  }
}

/**
 * After root N+1 is published: the staged next key of each role it rotated becomes the current
 * key. The rename replaces a retired key of the same kind atomically; a retired key of the
 * other kind (a key file after moving to PKCS#11) is deleted. A retired key is of no further use.
 */
export function promoteNextKeys(dataDir: string, roles: OnlineRole[]): void {
  for (const role of roles) {
    const pem = nextKeyPath(dataDir, role);
    const token = nextTokenKeyPath(dataDir, role);
    if (existsSync(pem)) {
      renameSync(pem, currentKeyPath(dataDir, role));
      if (existsSync(currentTokenKeyPath(dataDir, role))) unlinkSync(currentTokenKeyPath(dataDir, role));
    } else if (existsSync(token)) {
      renameSync(token, currentTokenKeyPath(dataDir, role));
      if (existsSync(currentKeyPath(dataDir, role))) unlinkSync(currentKeyPath(dataDir, role));
    }
  }
}

/**
 * `init --pkcs11 TOKEN-URI`: the online keys are generated inside the token instead of files
 * (CONTRACT.md "init": the online keys stay in the data dir, or in a PKCS#11 token when one is
 * named). The key files that `generateKeys` wrote are removed; keys/{role}.pkcs11 name the
 * token keys.
 */
export function moveOnlineKeysToToken(dataDir: string, tokenUri: string): OnlineSigners {
  const open = (role: OnlineRole): Signer => {
    const uri = generatePkcs11Key(tokenUri, `keyshare-${role}-${new Date().toISOString().replace(/[-:.]/g, '')}`);
    writeNewKey(currentTokenKeyPath(dataDir, role), uri + '\n');
    if (existsSync(currentKeyPath(dataDir, role))) unlinkSync(currentKeyPath(dataDir, role));
    return Pkcs11Signer.open(uri);
  };
  return { targets: open('targets'), snapshot: open('snapshot'), timestamp: open('timestamp') };
}
