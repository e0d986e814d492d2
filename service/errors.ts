/** The error class lives in shared/ (the client library throws it too, issue 25). */
export { KeyshareError, isKeyshareError } from '../shared/errors.js';

/** Codes shared across areas. Each area may add its own, but the same code means the same thing everywhere. */
export const Codes = {
  SCOPE_INVALID: 'SCOPE_INVALID',
  SCOPE_NOT_FOUND: 'SCOPE_NOT_FOUND',
  SCOPE_EXISTS: 'SCOPE_EXISTS',
  ANCHOR_EXISTS: 'ANCHOR_EXISTS',
  ANCHOR_NOT_FOUND: 'ANCHOR_NOT_FOUND',
  ANCHOR_INVALID: 'ANCHOR_INVALID',
  NOT_A_CA: 'NOT_A_CA',
  CERT_EXPIRED: 'CERT_EXPIRED',
  CERT_NOT_YET_VALID: 'CERT_NOT_YET_VALID',
  BAD_CERTIFICATE: 'BAD_CERTIFICATE',
  BAD_PUBLIC_KEY: 'BAD_PUBLIC_KEY',
  UNSUPPORTED_KEY: 'UNSUPPORTED_KEY',
  /** Issue 16, finding 1: untrusted key material took longer than its time limit to parse (service/crypto/untrusted.ts). */
  PARSE_TIMEOUT: 'PARSE_TIMEOUT',
  BAD_PGP_KEY: 'BAD_PGP_KEY',
  APPLY_INVALID: 'APPLY_INVALID',
  BAD_REQUEST: 'BAD_REQUEST',
  BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  UNAUTHORIZED: 'UNAUTHORIZED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  NOT_INITIALIZED: 'NOT_INITIALIZED',
  /** A replica without the publisher lease was asked to sign (issue 11): retry on the publisher. */
  NOT_PUBLISHER: 'NOT_PUBLISHER',
  ALREADY_INITIALIZED: 'ALREADY_INITIALIZED',
  /** Issue 24: the current root names an online key that this data dir does not hold (a rotation made on another replica). */
  ONLINE_KEY_MISSING: 'ONLINE_KEY_MISSING',
  /** Issue 24: after a restore, the database is older than versions already published (static dir, peers, --min-version). */
  RESTORE_BEHIND: 'RESTORE_BEHIND',
  /** Issue 24: implicit initialisation refused in production mode (--production, or a non-loopback --listen). */
  INIT_REQUIRED: 'INIT_REQUIRED',
  CONFIG_INVALID: 'CONFIG_INVALID',
  /** The configured database cannot be reached or opened (PostgreSQL down, wrong credentials). */
  DATABASE_UNAVAILABLE: 'DATABASE_UNAVAILABLE',
  /** Too many refused requests from one client address (issue 16): retry after `Retry-After` seconds. */
  RATE_LIMITED: 'RATE_LIMITED',
  /** The disk under the database is full (issue 24 row 9): the message names the data dir. */
  STORAGE_FULL: 'STORAGE_FULL',
  /** The stored repository does not verify with its own root and cannot be re-signed from its records (issue 24 row 10). */
  STORE_DAMAGED: 'STORE_DAMAGED',
  /** Another `serve` holds the data dir's lock (issue 24 row 14). */
  DATA_DIR_LOCKED: 'DATA_DIR_LOCKED',
  /** The service is stopping: retry after the Retry-After delay, on another replica if there is one (issue 24 row 7). */
  SHUTTING_DOWN: 'SHUTTING_DOWN',
  /** A write was saved but not published (the CLI waited; issue 24 row 9). */
  NOT_PUBLISHED: 'NOT_PUBLISHED',
  /** The listen address cannot be bound (in use, or not allowed). */
  LISTEN_FAILED: 'LISTEN_FAILED',
  /** `serve` has bound its address and is not serving yet. */
  STARTING: 'STARTING',
  /** Issue 16, finding 9: an upstream or CRL URL (or a redirect) reaches a loopback, link-local or private address; `--allow-private-upstreams` allows it. */
  ADDRESS_NOT_ALLOWED: 'ADDRESS_NOT_ALLOWED',
  /** RFC 5280 5.2.3: a CRL whose number is not greater than the stored one. */
  ROLLBACK: 'ROLLBACK',
  CRL_TOO_LARGE: 'CRL_TOO_LARGE',
  BAD_PRIVATE_KEY: 'BAD_PRIVATE_KEY',
  /** A root lists the same key twice. */
  DUPLICATE_KEY: 'DUPLICATE_KEY',
  /** The static copy of the repository (--static-dir) cannot be written. */
  STATIC_DIR_WRITE: 'STATIC_DIR_WRITE',
  /** A revocation reason that is not one of RFC 5280's names. */
  REASON_INVALID: 'REASON_INVALID',
  /** shared/errors.ts SharedCodes: a local file cannot be read; a command line that cannot work as given. */
  FILE_NOT_READABLE: 'FILE_NOT_READABLE',
  USAGE: 'USAGE',
  INTERNAL: 'INTERNAL',
} as const;

/** keyshare's signing authorities and TSA (issue 18). CSR_* and TSA_* query codes are in service/crypto/ca.ts and tsa.ts. */
export const CaCodes = {
  CA_NOT_FOUND: 'CA_NOT_FOUND',
  CA_EXISTS: 'CA_EXISTS',
  CA_NAME_INVALID: 'CA_NAME_INVALID',
  /** This process has neither the CA's key file nor its HSM (a replica without a copy of keys/ca-*.pem). */
  CA_KEY_UNAVAILABLE: 'CA_KEY_UNAVAILABLE',
  /** `ca import`: the key is not the certificate's. */
  CA_KEY_MISMATCH: 'CA_KEY_MISMATCH',
  VALIDITY_TOO_LONG: 'VALIDITY_TOO_LONG',
  RATE_LIMITED: 'RATE_LIMITED',
  /** `POST /tsa` before any signing authority (and so the TSA) exists. */
  TSA_UNAVAILABLE: 'TSA_UNAVAILABLE',
} as const;
