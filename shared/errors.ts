/**
 * The base of every keyshare error: a stable upper-case `code` that tests, the CLI and the
 * HTTP layer rely on, a human message, and an optional cause (never shown to clients).
 * Here, outside service/, so that the client library (`keyshare/client`) throws the same class
 * without loading service code (issue 25); service/errors.ts re-exports it with the codes.
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

/** The codes of service/errors.ts `Codes` that shared/ and the client library throw (the same code means the same thing everywhere). */
export const SharedCodes = {
  SCOPE_INVALID: 'SCOPE_INVALID',
  CONFIG_INVALID: 'CONFIG_INVALID',
  INTERNAL: 'INTERNAL',
  /** A local file (a bundle, a backup, a CLI argument) cannot be read. */
  FILE_NOT_READABLE: 'FILE_NOT_READABLE',
  /** A command line (or a client option) that cannot work as given. */
  USAGE: 'USAGE',
} as const;
