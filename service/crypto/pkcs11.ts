/**
 * TUF signing keys in a PKCS#11 token (an HSM, or SoftHSM2 in tests), behind the same Signer
 * port as file keys. The only importer of pkcs11js.
 *
 * Keys are named by RFC 7512 URIs:
 *   pkcs11:token=keyshare;object=timestamp-1?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=1234
 * The module may instead come from KEYSHARE_PKCS11_MODULE, and the PIN from `pin-source=FILE`
 * or KEYSHARE_PKCS11_PIN. New keys are ECDSA P-256 (supported by every HSM); existing Ed25519
 * keys (CKK_EC_EDWARDS) sign too.
 */
import { createPublicKey } from 'node:crypto';
import { sha256Bytes } from '../../shared/hash.js';
import { closeSync, constants as fsConstants, fstatSync, openSync, readSync } from 'node:fs';
import pkcs11js from 'pkcs11js';
import { KeyshareError, Codes } from '../errors.js';
import { tufKeyId, tufPublicKeyFromPem, type Signer, type TufPublicKey } from './signer.js';

export const Pkcs11Codes = {
  PKCS11_URI_INVALID: 'PKCS11_URI_INVALID',
  PKCS11_ERROR: 'PKCS11_ERROR',
  PKCS11_TOKEN_NOT_FOUND: 'PKCS11_TOKEN_NOT_FOUND',
  PKCS11_KEY_NOT_FOUND: 'PKCS11_KEY_NOT_FOUND',
} as const;

// PKCS#11 3.0 constants that pkcs11js does not name.
const CKK_EC_EDWARDS = 0x40;
const CKM_EDDSA = 0x1057;
/** DER of OID 1.2.840.10045.3.1.7 (prime256v1 / P-256). */
const P256_PARAMS = Buffer.from('06082a8648ce3d030107', 'hex');

export interface Pkcs11Uri {
  token?: string;
  serial?: string;
  slotId?: number;
  object?: string;
  id?: Buffer;
  modulePath: string;
  pin?: string;
}

function pct(value: string, uri: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw new KeyshareError(Pkcs11Codes.PKCS11_URI_INVALID, `bad percent-encoding in ${redactUri(uri)}`);
  }
}

/** The URI without secrets (pin-value), safe to print and log. */
export function redactUri(uri: string): string {
  return uri.replace(/([?&]pin-value=)[^&]*/g, '$1***');
}

export function isPkcs11Uri(value: string): boolean {
  return value.startsWith('pkcs11:');
}

/** The URI's attributes, and where its PIN file is, without reading anything. */
function parseFields(uri: string, env: NodeJS.ProcessEnv): Pkcs11Uri & { pinSource?: string } {
  if (!isPkcs11Uri(uri)) throw new KeyshareError(Pkcs11Codes.PKCS11_URI_INVALID, 'a PKCS#11 URI starts with "pkcs11:"');
  const [path = '', query = ''] = uri.slice('pkcs11:'.length).split('?', 2);
  const out: Partial<Pkcs11Uri> & { pinSource?: string } = {};
  for (const part of path.split(';').filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq < 0) throw new KeyshareError(Pkcs11Codes.PKCS11_URI_INVALID, `bad attribute ${JSON.stringify(part)} in ${redactUri(uri)}`);
    const k = part.slice(0, eq);
    const v = pct(part.slice(eq + 1), uri);
    if (k === 'token') out.token = v;
    else if (k === 'serial') out.serial = v;
    else if (k === 'slot-id') out.slotId = Number(v);
    else if (k === 'object') out.object = v;
    else if (k === 'id') out.id = Buffer.from(v, 'latin1');
  }
  for (const part of query.split('&').filter(Boolean)) {
    const eq = part.indexOf('=');
    const k = eq < 0 ? part : part.slice(0, eq);
    const v = eq < 0 ? '' : pct(part.slice(eq + 1), uri);
    if (k === 'module-path') out.modulePath = v;
    else if (k === 'pin-value') out.pin = v;
    else if (k === 'pin-source') out.pinSource = v.replace(/^file:/, '');
  }
  out.modulePath ??= env.KEYSHARE_PKCS11_MODULE;
  if (!out.modulePath) {
    throw new KeyshareError(Pkcs11Codes.PKCS11_URI_INVALID, `no PKCS#11 module: add ?module-path=... to the URI or set KEYSHARE_PKCS11_MODULE`);
  }
  return out as Pkcs11Uri & { pinSource?: string };
}

/** The largest PIN file read (issue 16, finding 4). */
export const MAX_PIN_FILE_BYTES = 1024;

/**
 * Reads a `pin-source` file: a regular file of at most 1 KiB, opened with O_NOFOLLOW (no
 * symlink) and O_NONBLOCK (a FIFO cannot hold the open). Every failure gives the same error,
 * so that the answer does not tell which files exist (issue 16, finding 4).
 */
function readPinFile(path: string): string {
  const refused = () => new KeyshareError(Pkcs11Codes.PKCS11_URI_INVALID, 'cannot read the PIN from pin-source: it must be a regular file of at most 1 KiB');
  let fd: number;
  try {
    fd = openSync(path, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK);
  } catch {
    throw refused();
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.size > MAX_PIN_FILE_BYTES) throw refused();
    const buf = Buffer.alloc(MAX_PIN_FILE_BYTES + 1);
    const n = readSync(fd, buf, 0, buf.length, 0);
    if (n > MAX_PIN_FILE_BYTES) throw refused();
    return buf.subarray(0, n).toString('utf8').trim();
  } catch {
    throw refused();
  } finally {
    closeSync(fd);
  }
}

/** Parses an RFC 7512 PKCS#11 URI (the attributes keyshare uses), reading its pin-source if any. */
export function parsePkcs11Uri(uri: string, env: NodeJS.ProcessEnv = process.env): Pkcs11Uri {
  const { pinSource, ...out } = parseFields(uri, env);
  if (pinSource) out.pin = readPinFile(pinSource);
  out.pin ??= env.KEYSHARE_PKCS11_PIN;
  return out;
}

/**
 * A PKCS#11 module is native code loaded into the process, so a URI that arrives over the
 * admin API may only name a module the operator configured: KEYSHARE_PKCS11_MODULE, or one of
 * KEYSHARE_PKCS11_MODULES (separated by ":"). Throws PKCS11_MODULE_NOT_ALLOWED otherwise.
 */
export function assertModuleAllowed(uri: string, env: NodeJS.ProcessEnv = process.env): void {
  // Before anything of the URI is acted on, its pin-source included (issue 16, finding 4).
  const { modulePath } = parseFields(uri, env);
  const allowed = [env.KEYSHARE_PKCS11_MODULE, ...(env.KEYSHARE_PKCS11_MODULES ?? '').split(':')].filter((m): m is string => !!m);
  if (!allowed.includes(modulePath)) {
    throw new KeyshareError(
      'PKCS11_MODULE_NOT_ALLOWED',
      `the service loads only the PKCS#11 modules its operator configured (KEYSHARE_PKCS11_MODULE or KEYSHARE_PKCS11_MODULES), not ${modulePath}`,
    );
  }
}

/** One loaded module per path, initialised once per process, finalised after its last user. */
const modules = new Map<string, { lib: pkcs11js.PKCS11; users: number }>();

function wrap<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof KeyshareError) throw e;
    throw new KeyshareError(Pkcs11Codes.PKCS11_ERROR, `${what}: ${(e as Error).message}`, { cause: e });
  }
}

function acquire(modulePath: string): pkcs11js.PKCS11 {
  const m = modules.get(modulePath);
  if (m) {
    m.users++;
    return m.lib;
  }
  const lib = new pkcs11js.PKCS11();
  wrap(`cannot load the PKCS#11 module ${modulePath}`, () => lib.load(modulePath));
  try {
    lib.C_Initialize();
  } catch (e) {
    if ((e as { code?: number }).code !== pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
      throw new KeyshareError(Pkcs11Codes.PKCS11_ERROR, `C_Initialize: ${(e as Error).message}`, { cause: e });
    }
  }
  modules.set(modulePath, { lib, users: 1 });
  return lib;
}

function release(modulePath: string): void {
  const m = modules.get(modulePath);
  if (!m || --m.users > 0) return;
  modules.delete(modulePath);
  try {
    m.lib.C_Finalize();
    m.lib.close();
  } catch {
    // already finalised: nothing left to release
  }
}

/** A logged-in read-write session on the token a URI names. */
class Session {
  private closed = false;

  private constructor(
    readonly lib: pkcs11js.PKCS11,
    readonly handle: Buffer,
    readonly uri: Pkcs11Uri,
  ) {}

  static open(uri: Pkcs11Uri): Session {
    const lib = acquire(uri.modulePath);
    try {
      const slots = wrap('C_GetSlotList', () => lib.C_GetSlotList(true));
      const slotNumber = (s: Buffer) => (s.length >= 8 ? Number(s.readBigUInt64LE(0)) : s.readUInt32LE(0));
      const slot = slots.find((s) => {
        if (uri.slotId !== undefined && slotNumber(s) !== uri.slotId) return false;
        const info = lib.C_GetTokenInfo(s);
        if (uri.token !== undefined && info.label.trim() !== uri.token) return false;
        if (uri.serial !== undefined && info.serialNumber.trim() !== uri.serial) return false;
        return true;
      });
      if (!slot) throw new KeyshareError(Pkcs11Codes.PKCS11_TOKEN_NOT_FOUND, `no PKCS#11 token ${JSON.stringify(uri.token ?? uri.serial ?? uri.slotId)} in ${uri.modulePath}`);
      const handle = wrap('C_OpenSession', () => lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION));
      if (uri.pin !== undefined) {
        try {
          lib.C_Login(handle, pkcs11js.CKU_USER, uri.pin);
        } catch (e) {
          // Login state is per application and token (PKCS#11 5.6): a second session is already in.
          if ((e as { code?: number }).code !== pkcs11js.CKR_USER_ALREADY_LOGGED_IN) {
            lib.C_CloseSession(handle);
            throw new KeyshareError(Pkcs11Codes.PKCS11_ERROR, `C_Login: ${(e as Error).message}`, { cause: e });
          }
        }
      }
      return new Session(lib, handle, uri);
    } catch (e) {
      release(uri.modulePath);
      throw e;
    }
  }

  find(template: pkcs11js.Template): Buffer[] {
    return wrap('C_FindObjects', () => {
      this.lib.C_FindObjectsInit(this.handle, template);
      try {
        return this.lib.C_FindObjects(this.handle, 16);
      } finally {
        this.lib.C_FindObjectsFinal(this.handle);
      }
    });
  }

  attribute(object: Buffer, type: number): Buffer {
    return wrap('C_GetAttributeValue', () => this.lib.C_GetAttributeValue(this.handle, object, [{ type }])[0]!.value);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.lib.C_CloseSession(this.handle);
    } finally {
      release(this.uri.modulePath);
    }
  }
}

function keyTemplate(uri: Pkcs11Uri, cls: number): pkcs11js.Template {
  const t: pkcs11js.Template = [{ type: pkcs11js.CKA_CLASS, value: cls }];
  if (uri.object !== undefined) t.push({ type: pkcs11js.CKA_LABEL, value: uri.object });
  if (uri.id !== undefined) t.push({ type: pkcs11js.CKA_ID, value: uri.id });
  return t;
}

/** Unwraps a DER OCTET STRING (CKA_EC_POINT is one), or returns the bytes as they are. */
function unwrapOctetString(b: Buffer): Buffer {
  if (b[0] !== 0x04) return b;
  if (b[1]! < 0x80 && b[1] === b.length - 2) return b.subarray(2);
  if (b[1] === 0x81 && b[2] === b.length - 3) return b.subarray(3);
  return b;
}

const b64url = (b: Buffer) => b.toString('base64url');

/** The public key of a token key pair (SPKI PEM), from its public key object. */
function publicKeyOf(session: Session, pub: Buffer, keyType: number): string {
  const point = unwrapOctetString(session.attribute(pub, pkcs11js.CKA_EC_POINT));
  let jwk: Record<string, string>;
  if (keyType === CKK_EC_EDWARDS) {
    if (point.length !== 32) throw new KeyshareError(Pkcs11Codes.PKCS11_ERROR, 'unexpected Ed25519 public key size');
    jwk = { kty: 'OKP', crv: 'Ed25519', x: b64url(point) };
  } else {
    const params = session.attribute(pub, pkcs11js.CKA_EC_PARAMS);
    if (!params.equals(P256_PARAMS) || point.length !== 65 || point[0] !== 0x04) {
      throw new KeyshareError(Codes.UNSUPPORTED_KEY, 'TUF signing keys in a PKCS#11 token must be ECDSA P-256 or Ed25519');
    }
    jwk = { kty: 'EC', crv: 'P-256', x: b64url(point.subarray(1, 33)), y: b64url(point.subarray(33, 65)) };
  }
  return createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString();
}

/** DER INTEGER of an unsigned big-endian number. */
function derInteger(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  let v = b.subarray(i);
  if (v[0]! & 0x80) v = Buffer.concat([Buffer.from([0]), v]);
  return Buffer.concat([Buffer.from([0x02, v.length]), v]);
}

/** PKCS#11 CKM_ECDSA gives r||s; TUF (and node's verify) expect a DER ECDSA-Sig-Value. */
function ecdsaRawToDer(raw: Buffer): Buffer {
  const half = raw.length / 2;
  const body = Buffer.concat([derInteger(raw.subarray(0, half)), derInteger(raw.subarray(half))]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

function findPublic(session: Session, privateKey: Buffer, uri: string): Buffer {
  const id = session.attribute(privateKey, pkcs11js.CKA_ID);
  const t: pkcs11js.Template = [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PUBLIC_KEY }];
  if (id.length) t.push({ type: pkcs11js.CKA_ID, value: id });
  else t.push({ type: pkcs11js.CKA_LABEL, value: session.attribute(privateKey, pkcs11js.CKA_LABEL) });
  const [pub] = session.find(t);
  if (!pub) throw new KeyshareError(Pkcs11Codes.PKCS11_KEY_NOT_FOUND, `no public key object next to ${uri}`);
  return pub;
}

export class Pkcs11Signer implements Signer {
  readonly keyid: string;
  readonly publicKey: TufPublicKey;

  private constructor(
    private readonly session: Session,
    private readonly privateKey: Buffer,
    private readonly keyType: number,
    /** The public key as SPKI PEM (e.g. for `root propose --add-key`). */
    readonly publicKeyPem: string,
    /** The key's URI without secrets. */
    readonly uri: string,
  ) {
    this.publicKey = tufPublicKeyFromPem(publicKeyPem);
    this.keyid = tufKeyId(this.publicKey);
  }

  /** Opens the private key a URI names (exactly one must match). */
  static open(uri: string): Pkcs11Signer {
    const parsed = parsePkcs11Uri(uri);
    if (parsed.object === undefined && parsed.id === undefined) {
      throw new KeyshareError(Pkcs11Codes.PKCS11_URI_INVALID, `name the key with object=LABEL or id=... in ${redactUri(uri)}`);
    }
    const session = Session.open(parsed);
    try {
      const found = session.find(keyTemplate(parsed, pkcs11js.CKO_PRIVATE_KEY));
      if (found.length !== 1) {
        throw new KeyshareError(
          Pkcs11Codes.PKCS11_KEY_NOT_FOUND,
          found.length === 0 ? `no private key ${redactUri(uri)} in the token` : `${found.length} private keys match ${redactUri(uri)}; name one`,
        );
      }
      const key = found[0]!;
      const keyType = session.attribute(key, pkcs11js.CKA_KEY_TYPE).readUIntLE(0, 4);
      const publicKey = publicKeyOf(session, findPublic(session, key, redactUri(uri)), keyType);
      return new Pkcs11Signer(session, key, keyType, publicKey, redactUri(uri));
    } catch (e) {
      session.close();
      throw e;
    }
  }

  async sign(data: Uint8Array): Promise<Uint8Array> {
    const { lib, handle } = this.session;
    return wrap('C_Sign', () => {
      if (this.keyType === CKK_EC_EDWARDS) {
        lib.C_SignInit(handle, { mechanism: CKM_EDDSA }, this.privateKey);
        return lib.C_Sign(handle, Buffer.from(data), Buffer.alloc(64));
      }
      // CKM_ECDSA signs a digest: TUF's ecdsa-sha2-nistp256 is ECDSA over SHA-256.
      lib.C_SignInit(handle, { mechanism: pkcs11js.CKM_ECDSA }, this.privateKey);
      const raw = lib.C_Sign(handle, sha256Bytes(data), Buffer.alloc(132));
      return ecdsaRawToDer(raw);
    });
  }

  close(): void {
    this.session.close();
  }
}

/**
 * Generates an ECDSA P-256 key pair in the token that `tokenUri` names, labelled `label`
 * (private key sensitive and not extractable), and returns the URI that names it: the token
 * URI with `object=label` (and its module and PIN attributes as given).
 */
export function generatePkcs11Key(tokenUri: string, label: string): string {
  const parsed = parsePkcs11Uri(tokenUri);
  const session = Session.open(parsed);
  try {
    const id = sha256Bytes(label).subarray(0, 8);
    const common = [
      { type: pkcs11js.CKA_TOKEN, value: true },
      { type: pkcs11js.CKA_LABEL, value: label },
      { type: pkcs11js.CKA_ID, value: id },
      { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_EC },
    ];
    wrap('C_GenerateKeyPair', () =>
      session.lib.C_GenerateKeyPair(
        session.handle,
        { mechanism: pkcs11js.CKM_EC_KEY_PAIR_GEN },
        [...common, { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PUBLIC_KEY }, { type: pkcs11js.CKA_VERIFY, value: true }, { type: pkcs11js.CKA_EC_PARAMS, value: P256_PARAMS }],
        [
          ...common,
          { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
          { type: pkcs11js.CKA_SIGN, value: true },
          { type: pkcs11js.CKA_PRIVATE, value: true },
          { type: pkcs11js.CKA_SENSITIVE, value: true },
          { type: pkcs11js.CKA_EXTRACTABLE, value: false },
        ],
      ),
    );
  } finally {
    session.close();
  }
  const [path = '', query] = tokenUri.split('?', 2);
  const attrs = path
    .slice('pkcs11:'.length)
    .split(';')
    .filter((p) => p && !/^(object|id|type)=/.test(p));
  attrs.push(`object=${encodeURIComponent(label)}`);
  return `pkcs11:${attrs.join(';')}${query ? `?${query}` : ''}`;
}
