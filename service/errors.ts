/**
 * The base of every keyshare error: a stable upper-case `code` that tests, the CLI and the
 * HTTP layer rely on, a human message, and an optional cause (never shown to clients).
 */
export class KeyshareError extends Error {
  readonly code: string;
  readonly details?: unknown;

  constructor(code: string, message: string, options: { cause?: unknown; details?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'KeyshareError';
    this.code = code;
    this.details = options.details;
  }
}

export function isKeyshareError(e: unknown): e is KeyshareError {
  return e instanceof KeyshareError;
}

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
  CONFIG_INVALID: 'CONFIG_INVALID',
  /** The configured database cannot be reached or opened (PostgreSQL down, wrong credentials). */
  DATABASE_UNAVAILABLE: 'DATABASE_UNAVAILABLE',
  /** `serve` could not listen on its address (in use, not permitted, not local). */
  LISTEN_FAILED: 'LISTEN_FAILED',
  INTERNAL: 'INTERNAL',
} as const;
