/** One table from error codes to HTTP statuses (STYLE.md "Errors"). Anything unlisted is a 400. */
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { Codes } from '../errors.js';

const STATUS: Record<string, ContentfulStatusCode> = {
  [Codes.UNAUTHORIZED]: 401,
  [Codes.FORBIDDEN]: 403,
  [Codes.NOT_FOUND]: 404,
  [Codes.SCOPE_NOT_FOUND]: 404,
  [Codes.ANCHOR_NOT_FOUND]: 404,
  [Codes.SCOPE_EXISTS]: 409,
  [Codes.ANCHOR_EXISTS]: 409,
  [Codes.CONFLICT]: 409,
  TOKEN_NOT_FOUND: 404,
  LAST_ADMIN_TOKEN: 409,
  NO_PROPOSAL: 404,
  PROPOSAL_PENDING: 409,
  PROPOSAL_STALE: 409,
  [Codes.BODY_TOO_LARGE]: 413,
  [Codes.RATE_LIMITED]: 429,
  CRL_TOO_LARGE: 413,
  ROLLBACK: 409,
  // Upstreams and federation (sync/upstream, service/domain/federation.ts).
  UPSTREAM_NOT_FOUND: 404,
  UPSTREAM_EXISTS: 409,
  SCOPE_FEDERATED: 409,
  ANCHOR_FEDERATED: 409,
  // Tenants (service/repo/tenants.ts, tenant-pending.ts).
  TENANT_NOT_FOUND: 404,
  TENANT_EXISTS: 409,
  NOTHING_TO_SIGN: 404,
  STALE_SIGNING_REQUEST: 409,
  [Codes.NOT_INITIALIZED]: 503,
  [Codes.NOT_PUBLISHER]: 503,
  [Codes.ONLINE_KEY_MISSING]: 503,
  [Codes.DATABASE_UNAVAILABLE]: 503,
  [Codes.SHUTTING_DOWN]: 503,
  [Codes.STORE_DAMAGED]: 503,
  // RFC 4918 11.5 Insufficient Storage.
  [Codes.STORAGE_FULL]: 507,
  [Codes.INTERNAL]: 500,
  // Signing authorities and the TSA (service/ca, issue 18).
  CA_NOT_FOUND: 404,
  CA_EXISTS: 409,
  CA_KEY_UNAVAILABLE: 503,
  TSA_UNAVAILABLE: 503,
  CSR_TOO_LARGE: 413,
  TSA_QUERY_TOO_LARGE: 413,
  // Issue 21 (service/domain/history.ts, clients.ts).
  VERSION_UNKNOWN: 404,
  CLIENTS_FULL: 429,
};

export function statusFor(code: string): ContentfulStatusCode {
  return STATUS[code] ?? 400;
}
